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
int ap_process_run(const char *program, char *const *args, size_t n_args, const char *cwd,
		   int *exit_code, struct ap_err *err);

#ifdef _WIN32
#include <wchar.h>
/* The command line ap_process_run gives program and args, each quoted so
 * the C runtime's parser gives them back exactly (malloc'd, in *out); the
 * service manager takes one in this form.  AP_E_RUN when a string is not
 * UTF-8. */
int ap_process_command_line(const char *program, char *const *args, size_t n_args, wchar_t **out,
			    struct ap_err *err);
#endif
/* What a captured program wrote (standard output and standard error, in
 * the order they came): its last AP_PROCESS_TAIL_MAX bytes, NUL-terminated,
 * and how many bytes it wrote in all. */
#define AP_PROCESS_TAIL_MAX 2048
struct ap_process_output {
	char tail[AP_PROCESS_TAIL_MAX * 2 + 1];
	size_t len; /* bytes in tail, at most AP_PROCESS_TAIL_MAX once done */
	unsigned long long total;
};

/* ap_process_run, with the program's standard output and standard error
 * captured into *out (nothing reaches the caller's streams; standard input
 * is the caller's).  *out is filled when the program ran, whatever its
 * exit code. */
int ap_process_run_captured(const char *program, char *const *args, size_t n_args, const char *cwd,
			    struct ap_process_output *out, int *exit_code, struct ap_err *err);

/* ap_process_run_in_root, captured as ap_process_run_captured. */
int ap_process_run_in_root_captured(const char *root, const char *program, char *const *args,
				    size_t n_args, const char *cwd, struct ap_process_output *out,
				    int *exit_code, struct ap_err *err);

/* Whether process pid still runs (true when that cannot be told, so a
 * caller never removes what a live process may be writing). */
bool ap_process_alive(long pid);

/* From now on, give programs ap_process_run starts the caller's stderr as
 * their stdout too (on) or the caller's stdout (off, the default).  A caller
 * whose stdout carries only JSON (--json) turns it on, so a run action's
 * output cannot mix with it. */
void ap_process_stdout_to_stderr(bool on);

/* The same inside root: the child changes its root folder to root
 * (chroot), enters cwd and runs program, both paths as seen inside root
 * ("/opt/demo/setup.sh").  Needs the privilege to chroot: check first with
 * ap_process_can_run_in_root.  Returns AP_E_RUN when it could not be
 * started (the message names the step: changing root, entering the
 * folder, starting the program). */
int ap_process_run_in_root(const char *root, const char *program, char *const *args, size_t n_args,
			   const char *cwd, int *exit_code, struct ap_err *err);

/* 0 when this process may run programs inside root (ap_process_run_in_root):
 * a POSIX system and root privilege.  Otherwise AP_E_USAGE saying why and
 * what to do instead (always on Windows, which has no chroot). */
int ap_process_can_run_in_root(const char *root, struct ap_err *err);

/* Test-only: stop this process until another sends it SIGCONT (POSIX
 * SIGSTOP), so a test can change files at an exact point of an install.
 * Does nothing where the OS has no such signal (Windows). */
void ap_process_stop_self(void);

#endif
