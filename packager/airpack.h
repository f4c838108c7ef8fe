/* airpack.h - shared declarations of the packager's commands. */
#ifndef AIRPACK_PACKAGER_H
#define AIRPACK_PACKAGER_H

#include <stdbool.h>
#include "airpack/err.h"
#include "airpack/json.h"
#include "airpack/manifest.h"

/* Every command: parse its own options, do the work, return an exit code. */
int cmd_keygen(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_root(int argc, char **argv);

/* Print "airpack: error: MSG" and return the documented exit code for err. */
int die_err(const struct ap_err *err);
/* Print "airpack: error: ..." plus a usage hint for COMMAND; returns 2. */
int usage_error(const char *command, const char *fmt, ...) AP_PRINTF(2, 3);
/* Print the usage text of command to stdout; returns 0. */
int print_usage(const char *command);
/* The "components" array of a command's JSON result: each component's
 * name, file, size and sha256, and with actions its action and "to" (the
 * extract folder or the copy's destination). */
void print_json_components(struct ap_json *j, const struct ap_manifest *m, bool actions);

#endif
