/* process.h - run a program and collect its exit status (the one other
 * OS-specific module besides fsx). */
#ifndef AP_PROCESS_H
#define AP_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/err.h"

/* Run program with args (argv[0] is set to program) in folder cwd (may be
 * NULL), wait for it, and write its exit code to *exit_code (128+signal when
 * killed by a signal).  Output goes to the caller's stdout/stderr.
 * Returns AP_E_RUN when it could not be started. */
int ap_process_run(const char *program, char *const *args, size_t n_args,
		   const char *cwd, int *exit_code, struct ap_err *err);

/* From now on, give programs ap_process_run starts the caller's stderr as
 * their stdout too (on) or the caller's stdout (off, the default).  A caller
 * whose stdout carries only JSON (--json) turns it on, so a run action's
 * output cannot mix with it. */
void ap_process_stdout_to_stderr(bool on);

#endif
