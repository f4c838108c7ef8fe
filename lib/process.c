/* process.c - run a program and wait for it, POSIX implementation; see airpack/process.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airpack/process.h"
#include "process_os.h"
#include "airpack/banned.h"

/* Report errno from the child to the parent over the close-on-exec pipe:
 * a successful execv closes it empty, a failure sends which step failed. */
struct child_failure {
	int step; /* 1: chdir, 2: execv, 3: chroot, 4: dup2 */
	int errnum;
};

static _Noreturn void child_fail(int fd, int step)
{
	struct child_failure cf = { step, errno };
	ssize_t n;

	do {
		n = write(fd, &cf, sizeof(cf));
	} while (n < 0 && errno == EINTR);
	_exit(127);
}

bool ap_process_alive(long pid)
{
	if (pid <= 0 || (long)(pid_t)pid != pid)
		return true;
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* Read the child's output until every writer closed it. */
static void output_drain(int fd, struct ap_process_output *out)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ap_process_output_add(out, buf, (size_t)n);
	}
}

/* One fork/exec: the child's side, the pipes and the wait share one set of fds and one
 * cleanup, so they stay together. */
static int spawn(const char *root, const char *program, char *const *args, size_t n_args,
		 const char *cwd, struct ap_process_output *out, int *exit_code, struct ap_err *err)
{
	struct child_failure cf;
	char **argv = NULL;
	int pipefd[2] = { -1, -1 };
	int outfd[2] = { -1, -1 };
	size_t got = 0;
	pid_t pid;
	int status;
	int rc = 0;

	if (!program || !*program)
		return ap_err_set(err, AP_E_USAGE, "no program to run");
	argv = calloc(n_args + 2, sizeof(*argv));
	if (!argv)
		return ap_err_set(err, AP_E_NOMEM, "out of memory running '%s'", program);
	argv[0] = (char *)program;
	for (size_t i = 0; i < n_args; i++)
		argv[i + 1] = args[i];
	if (pipe(pipefd) != 0) {
		rc = ap_err_sys(err, AP_E_RUN, "cannot run '%s': pipe failed", program);
		goto out;
	}
	if (fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) != 0) {
		rc = ap_err_sys(err, AP_E_RUN, "cannot run '%s': fcntl failed", program);
		goto out;
	}
	if (out) {
		memset(out, 0, sizeof(*out));
		if (pipe(outfd) != 0 || fcntl(outfd[0], F_SETFD, FD_CLOEXEC) != 0) {
			rc = ap_err_sys(err, AP_E_RUN, "cannot run '%s': pipe failed", program);
			goto out;
		}
	}
	/* Buffered output must not come out after (or twice around) the child's. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = ap_err_sys(err, AP_E_RUN, "cannot run '%s': fork failed", program);
		goto out;
	}
	if (pid == 0) {
		close(pipefd[0]);
		if (out) {
			if (dup2(outfd[1], STDOUT_FILENO) < 0 || dup2(outfd[1], STDERR_FILENO) < 0)
				child_fail(pipefd[1], 4);
			close(outfd[1]);
		} else if (ap_process_os_stdout_to_stderr() &&
			   dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			child_fail(pipefd[1], 4);
		}
		if (root && (chroot(root) != 0 || chdir("/") != 0))
			child_fail(pipefd[1], 3);
		if (cwd && chdir(cwd) != 0)
			child_fail(pipefd[1], 1);
		execv(program, argv);
		child_fail(pipefd[1], 2);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	if (out) {
		close(outfd[1]);
		outfd[1] = -1;
	}
	while (got < sizeof(cf)) {
		ssize_t n = read(pipefd[0], (char *)&cf + got, sizeof(cf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* The failure pipe closed at exec: what the program writes comes
	 * until it (and whatever it left running with the pipe) exits. */
	if (out)
		output_drain(outfd[0], out);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = ap_err_sys(err, AP_E_RUN, "cannot wait for '%s'", program);
			goto out;
		}
	}
	if (got == sizeof(cf)) {
		if (cf.step == 1)
			rc = ap_err_set(err, AP_E_RUN,
					"cannot run '%s': cannot enter folder '%s': %s", program,
					cwd, strerror(cf.errnum));
		else if (cf.step == 3)
			rc = ap_err_set(err, AP_E_RUN,
					"cannot run '%s': cannot change root to '%s': %s", program,
					root, strerror(cf.errnum));
		else
			rc = ap_err_set(err, AP_E_RUN, "cannot run '%s': %s", program,
					strerror(cf.errnum));
		goto out;
	}
	if (WIFEXITED(status))
		*exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*exit_code = 128 + WTERMSIG(status);
	else
		rc = ap_err_set(err, AP_E_RUN, "'%s' ended in an unexpected state %d", program,
				status);
out:
	if (outfd[0] >= 0)
		close(outfd[0]);
	if (outfd[1] >= 0)
		close(outfd[1]);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	free(argv);
	return rc;
}

int ap_process_run(const char *program, char *const *args, size_t n_args, const char *cwd,
		   int *exit_code, struct ap_err *err)
{
	return spawn(NULL, program, args, n_args, cwd, NULL, exit_code, err);
}

int ap_process_run_captured(const char *program, char *const *args, size_t n_args, const char *cwd,
			    struct ap_process_output *out, int *exit_code, struct ap_err *err)
{
	return spawn(NULL, program, args, n_args, cwd, out, exit_code, err);
}

int ap_process_run_in_root_captured(const char *root, const char *program, char *const *args,
				    size_t n_args, const char *cwd, struct ap_process_output *out,
				    int *exit_code, struct ap_err *err)
{
	if (!root || !*root)
		return ap_err_set(err, AP_E_USAGE, "no root to run '%s' in", program);
	return spawn(root, program, args, n_args, cwd, out, exit_code, err);
}

int ap_process_run_in_root(const char *root, const char *program, char *const *args, size_t n_args,
			   const char *cwd, int *exit_code, struct ap_err *err)
{
	if (!root || !*root)
		return ap_err_set(err, AP_E_USAGE, "no root to run '%s' in", program);
	return spawn(root, program, args, n_args, cwd, NULL, exit_code, err);
}

int ap_process_can_run_in_root(const char *root, struct ap_err *err)
{
	if (geteuid() != 0)
		return ap_err_set(err, AP_E_USAGE,
				  "--run-in-root needs root privilege to change root into '%s' "
				  "(chroot): run as root, or leave the actions pending for "
				  "firstboot on the device",
				  root);
	return 0;
}

void ap_process_stop_self(void)
{
	(void)raise(SIGSTOP);
}
