/* bounds.h - what a signed release may name as its own: the folders it may
 * not take as data folders or configuration, and path comparisons made the
 * way the OS compares file names.
 *
 * A signed manifest chooses what to install, never what to destroy
 * (docs/threat-model.md).  The paths here are safe relative paths (see
 * ap_manifest_safe_relpath) under an install root.  Comparisons ignore
 * ASCII case and the trailing dots and spaces Windows drops from a name, so
 * "programdata" and "Windows." are caught too: refusing a little more on a
 * case-sensitive file system is harmless.
 *
 * The system folders are listed in lib/bounds.c and docs/manifest.md
 * ("Folders a release may not take"): every top-level folder, the well-known
 * folders below them (usr/bin, usr/lib*, var/lib, var/log, ...), every
 * folder directly in etc, Windows, home and Users.  airpack's own:
 * var/lib/airpack, var/log/airpack, var/cache/airpack and ProgramData/airpack
 * (where Windows keeps them: airpack/state.h).
 */
#ifndef AP_BOUNDS_H
#define AP_BOUNDS_H

#include <stdbool.h>

/* a and b name the same path, compared part by part as above. */
bool ap_bounds_same(const char *a, const char *b);

/* path is dir or inside it. */
bool ap_bounds_within(const char *path, const char *dir);

/* a and b are the same, or one holds the other. */
bool ap_bounds_overlap(const char *a, const char *b);

/* rel is a top-level folder or one of the system folders listed above. */
bool ap_bounds_is_system_dir(const char *rel);

/* The airpack folder rel equals, lies in or holds; NULL when none. */
const char *ap_bounds_airpack_overlap(const char *rel);

/* Why rel may not be a data folder (purged by uninstall --purge) of a
 * release installed to prefix: a short lowercase reason, or NULL when it
 * may.  Refused: top-level and system folders, airpack's own folders and
 * anything in or above them, and the prefix itself or a folder above it. */
const char *ap_bounds_data_dir_problem(const char *rel, const char *prefix);

/* Why rel may not be the device configuration file's path (written by
 * provision, removed by uninstall), or NULL when it may.  Refused: a file
 * at the top of the root, a file directly in a top-level or system folder
 * (etc/passwd, usr/bin/x: the configuration goes in a folder of its own,
 * etc/<product>/config.yaml), a system folder itself, and anything in or
 * above airpack's own folders. */
const char *ap_bounds_config_path_problem(const char *rel);

#endif
