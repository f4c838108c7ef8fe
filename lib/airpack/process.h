/* process.h - run a program and collect its exit status (the one other
 * OS-specific module besides fsx). */
#ifndef AP_PROCESS_H
#define AP_PROCESS_H

#include <stddef.h>
#include "airpack/err.h"

/* Run program with args (argv[0] is set to program) in folder cwd (may be
 * NULL), wait for it, and write its exit code to *exit_code (128+signal when
 * killed by a signal).  Output goes to the caller's stdout/stderr.
 * Returns AP_E_RUN when it could not be started. */
int ap_process_run(const char *program, char *const *args, size_t n_args,
		   const char *cwd, int *exit_code, struct ap_err *err);

/* Test-only: stop this process until another sends it SIGCONT (POSIX
 * SIGSTOP), so a test can change files at an exact point of an install.
 * Does nothing where the OS has no such signal (Windows). */
void ap_process_stop_self(void);

#endif
