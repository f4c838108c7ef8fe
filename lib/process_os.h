/* process_os.h - what the OS parts of process (process.c, process_win.c)
 * share from the portable process_common.c.  Private to lib/. */
#ifndef AP_PROCESS_OS_H
#define AP_PROCESS_OS_H

#include <stdbool.h>
#include <stddef.h>
#include "airpack/process.h"

/* Add n bytes a captured program wrote to out, keeping the last
 * AP_PROCESS_TAIL_MAX of them and counting them all. */
void ap_process_output_add(struct ap_process_output *out, const char *buf, size_t n);

/* What ap_process_stdout_to_stderr last set (false by default). */
bool ap_process_os_stdout_to_stderr(void);

#endif
