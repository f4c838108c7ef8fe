/* process_win.c - run a program and wait for it, Windows implementation; see
 * airpack/process.h.
 *
 * The program is started with CreateProcessW by its full path (no search
 * path, no shell).  Windows passes one command-line string, which the
 * child splits again; it is built here so that the C runtime's rules (the
 * ones CommandLineToArgvW follows) give back exactly args: each argument in
 * double quotes, a quote escaped with a backslash, and backslashes doubled
 * only where they precede a quote.  Batch files (.bat, .cmd) are parsed by
 * cmd.exe with other rules; manifests should run programs, not scripts.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>

#include "airpack/fsx.h"
#include "airpack/process.h"
#include "airpack/str.h"
#include "process_os.h"
#include "airpack/banned.h"

struct wbuf {
	wchar_t *s;
	size_t len, cap;
};

static bool wbuf_put(struct wbuf *b, wchar_t c, size_t times)
{
	wchar_t *p = ap_vec_grow(b->s, &b->cap, b->len + times + 1, sizeof(*p));

	if (!p)
		return false;
	b->s = p;
	for (size_t i = 0; i < times; i++)
		b->s[b->len++] = c;
	b->s[b->len] = L'\0';
	return true;
}

/* Append one argument, quoted for the C runtime's parser. */
static bool quote_arg(struct wbuf *b, const wchar_t *arg)
{
	if (b->len > 0 && !wbuf_put(b, L' ', 1))
		return false;
	if (!wbuf_put(b, L'"', 1))
		return false;
	for (const wchar_t *p = arg;; p++) {
		size_t slashes = 0;

		while (*p == L'\\') {
			slashes++;
			p++;
		}
		if (*p == L'\0') {
			/* Before the closing quote every backslash is doubled. */
			if (!wbuf_put(b, L'\\', slashes * 2))
				return false;
			break;
		}
		if (*p == L'"') {
			if (!wbuf_put(b, L'\\', slashes * 2 + 1) || !wbuf_put(b, L'"', 1))
				return false;
		} else if (!wbuf_put(b, L'\\', slashes) || !wbuf_put(b, *p, 1)) {
			return false;
		}
	}
	return wbuf_put(b, L'"', 1);
}

/* The command line for program (slashes turned to backslashes) and args in
 * *out (the program's wide path in *wprog_out unless NULL); AP_E_RUN when
 * a string is not UTF-8. */
static int command_line(const char *program, char *const *args, size_t n_args, wchar_t **out,
			wchar_t **wprog_out, struct ap_err *err)
{
	struct wbuf cmd = { NULL, 0, 0 };
	wchar_t *wprog = ap_fsx_utf8_to_wide(program);
	int rc = 0;

	if (!wprog)
		return ap_err_set(err, AP_E_RUN, "cannot run '%s': its path is not valid UTF-8",
				  program);
	for (wchar_t *p = wprog; *p; p++) {
		if (*p == L'/')
			*p = L'\\';
	}
	if (!quote_arg(&cmd, wprog))
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory running '%s'", program);
	for (size_t i = 0; i < n_args && rc == 0; i++) {
		wchar_t *w = ap_fsx_utf8_to_wide(args[i]);
		bool ok = w && quote_arg(&cmd, w);

		free(w);
		if (!ok)
			rc = ap_err_set(err, AP_E_RUN,
					"cannot run '%s': argument %zu is not valid UTF-8 "
					"(or out of memory)",
					program, i + 1);
	}
	if (rc < 0) {
		free(wprog);
		free(cmd.s);
		return rc;
	}
	if (wprog_out)
		*wprog_out = wprog;
	else
		free(wprog);
	*out = cmd.s;
	return 0;
}

int ap_process_command_line(const char *program, char *const *args, size_t n_args, wchar_t **out,
			    struct ap_err *err)
{
	return command_line(program, args, n_args, out, NULL, err);
}

static int start_fail(struct ap_err *err, const char *program, const char *cwd, const wchar_t *wcwd)
{
	DWORD e = GetLastError();
	const char *why;
	char buf[64];

	switch (e) {
	case ERROR_FILE_NOT_FOUND:
		why = "No such file or directory";
		break;
	case ERROR_PATH_NOT_FOUND:
		why = cwd ? "the program or the folder to run in does not exist"
			  : "No such file or directory";
		break;
	case ERROR_ACCESS_DENIED:
		why = "Permission denied";
		break;
	case ERROR_BAD_EXE_FORMAT:
		why = "not a Windows program";
		break;
	case ERROR_DIRECTORY:
		why = "the folder to run in is not a folder";
		break;
	default:
		snprintf(buf, sizeof(buf), "Windows error %lu", (unsigned long)e);
		why = buf;
		break;
	}
	if (cwd && (e == ERROR_DIRECTORY || e == ERROR_PATH_NOT_FOUND) &&
	    GetFileAttributesW(wcwd) == INVALID_FILE_ATTRIBUTES)
		return ap_err_set(err, AP_E_RUN, "cannot run '%s': cannot enter folder '%s': %s",
				  program, cwd, why);
	return ap_err_set(err, AP_E_RUN, "cannot run '%s': %s", program, why);
}

bool ap_process_alive(long pid)
{
	HANDLE h;
	DWORD w;

	if (pid <= 0 || (unsigned long)pid > 0xffffffffUL)
		return true;
	h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
	if (!h)
		return GetLastError() != ERROR_INVALID_PARAMETER;
	w = WaitForSingleObject(h, 0);
	CloseHandle(h);
	return w != WAIT_OBJECT_0;
}

/* One CreateProcess with its pipes and job object: the handles are shared by every exit. */
static int run(const char *program, char *const *args, size_t n_args, const char *cwd,
	       struct ap_process_output *out, int *exit_code, struct ap_err *err)
{
	struct wbuf cmd = { NULL, 0, 0 };
	HANDLE rd = NULL, wr = NULL;
	wchar_t *wprog = NULL;
	wchar_t *wcwd = NULL;
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	DWORD code;
	int rc = 0;

	if (!program || !*program)
		return ap_err_set(err, AP_E_USAGE, "no program to run");
	if (cwd && !(wcwd = ap_fsx_utf8_to_wide(cwd))) {
		rc = ap_err_set(err, AP_E_RUN, "cannot run '%s': its folder is not valid UTF-8",
				program);
		goto out;
	}
	rc = command_line(program, args, n_args, &cmd.s, &wprog, err);
	if (rc < 0)
		goto out;
	if (wcwd) {
		for (wchar_t *p = wcwd; *p; p++) {
			if (*p == L'/')
				*p = L'\\';
		}
	}
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
	si.hStdOutput = GetStdHandle(ap_process_os_stdout_to_stderr() ? STD_ERROR_HANDLE
								      : STD_OUTPUT_HANDLE);
	si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
	if (out) {
		SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };

		memset(out, 0, sizeof(*out));
		/* Only the write end is inherited; the child writes both streams to it. */
		if (!CreatePipe(&rd, &wr, &sa, 0) ||
		    !SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0)) {
			rc = ap_err_set(err, AP_E_RUN,
					"cannot run '%s': CreatePipe failed (error %lu)", program,
					(unsigned long)GetLastError());
			goto out;
		}
		si.hStdOutput = wr;
		si.hStdError = wr;
	}
	memset(&pi, 0, sizeof(pi));
	/* Buffered output must not come out after the child's. */
	fflush(NULL);
	/* Handles are inherited so the child writes where we write; fsx opens
	 * files non-inheritable, so nothing else reaches it. */
	if (!CreateProcessW(wprog, cmd.s, NULL, NULL, TRUE, CREATE_UNICODE_ENVIRONMENT, NULL, wcwd,
			    &si, &pi)) {
		rc = start_fail(err, program, cwd, wcwd);
		goto out;
	}
	CloseHandle(pi.hThread);
	if (out) {
		char buf[4096];
		DWORD n;

		CloseHandle(wr);
		wr = NULL;
		while (ReadFile(rd, buf, sizeof(buf), &n, NULL) && n > 0)
			ap_process_output_add(out, buf, n);
	}
	if (WaitForSingleObject(pi.hProcess, INFINITE) != WAIT_OBJECT_0 ||
	    !GetExitCodeProcess(pi.hProcess, &code)) {
		rc = ap_err_set(err, AP_E_RUN, "cannot wait for '%s': Windows error %lu", program,
				(unsigned long)GetLastError());
		CloseHandle(pi.hProcess);
		goto out;
	}
	CloseHandle(pi.hProcess);
	/* Exit codes are 32-bit unsigned on Windows (0xC0000005 for a crash);
	 * they are kept bit for bit. */
	*exit_code = (int)code;
out:
	if (rd)
		CloseHandle(rd);
	if (wr)
		CloseHandle(wr);
	free(cmd.s);
	free(wprog);
	free(wcwd);
	return rc;
}

int ap_process_run(const char *program, char *const *args, size_t n_args, const char *cwd,
		   int *exit_code, struct ap_err *err)
{
	return run(program, args, n_args, cwd, NULL, exit_code, err);
}

int ap_process_run_captured(const char *program, char *const *args, size_t n_args, const char *cwd,
			    struct ap_process_output *out, int *exit_code, struct ap_err *err)
{
	return run(program, args, n_args, cwd, out, exit_code, err);
}

int ap_process_run_in_root_captured(const char *root, const char *program, char *const *args,
				    size_t n_args, const char *cwd, struct ap_process_output *out,
				    int *exit_code, struct ap_err *err)
{
	(void)out;
	return ap_process_run_in_root(root, program, args, n_args, cwd, exit_code, err);
}

int ap_process_run_in_root(const char *root, const char *program, char *const *args, size_t n_args,
			   const char *cwd, int *exit_code, struct ap_err *err)
{
	(void)program;
	(void)args;
	(void)n_args;
	(void)cwd;
	(void)exit_code;
	return ap_process_can_run_in_root(root, err);
}

int ap_process_can_run_in_root(const char *root, struct ap_err *err)
{
	return ap_err_set(err, AP_E_USAGE,
			  "--run-in-root is not available on windows (no chroot) for '%s': "
			  "leave the actions pending for firstboot on the device, or use "
			  "--run-on-host",
			  root ? root : "");
}

void ap_process_stop_self(void)
{
}
