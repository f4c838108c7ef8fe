/* fsx_os.h - what the portable fsx.c needs from the OS part (fsx_posix.c or
 * fsx_win.c), and what they share.  Private to lib/. */
#ifndef AP_FSX_OS_H
#define AP_FSX_OS_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/err.h"

/* True for a path separator: '/' (and '\\' on Windows). */
bool ap_fsx_os_is_sep(char c);
/* mkdir that accepts an existing folder (but not an existing file). */
int ap_fsx_os_mkdir_one(const char *path, unsigned mode, struct ap_err *err);
/* strdup (NULL when out of memory). */
char *ap_fsx_os_strdup(const char *s);
/* Sort a name vector bytewise (ap_fsx_list_dir's order). */
void ap_fsx_os_sort_names(char **v, size_t n);

#endif
