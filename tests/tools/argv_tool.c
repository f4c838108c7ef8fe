/* argv_tool.c - ap-argv-tool OUT CODE [ARGS...]: write each ARG and a newline
 * to the file OUT (relative to the working folder) and exit with CODE.  The
 * process tests start it through ap_process_run to see exactly which
 * arguments arrived (Windows: after the command line's quoting).
 *
 * ap-argv-tool --hold FILE READY SECONDS: keep FILE open (the C runtime's
 * sharing: no one may delete or move it on Windows), write READY, and exit
 * after SECONDS (at most 120): a running program holding a file.
 *
 * ap-argv-tool --service NAME READY (Windows): run as the service NAME
 * under the Service Control Manager: report running, write READY, and
 * stop when told to (or after 300 s): the service a release registers in
 * tests/integration/windows.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "airpack/fsx.h"

static int hold(const char *file, const char *ready, const char *seconds)
{
	struct ap_err err = AP_ERR_INIT;
	long s = strtol(seconds, NULL, 10);
	FILE *fp = fopen(file, "rb");

	if (!fp) {
		fprintf(stderr, "ap-argv-tool: cannot open '%s'\n", file);
		return 2;
	}
	if (ap_fsx_write_atomic(ready, "ready\n", 6, 0644, &err) != 0) {
		fprintf(stderr, "ap-argv-tool: %s\n", err.msg);
		fclose(fp);
		return 2;
	}
	if (s < 0 || s > 120)
		s = 120;
#ifdef _WIN32
	Sleep((DWORD)s * 1000);
#else
	sleep((unsigned)s);
#endif
	fclose(fp);
	return 0;
}

#ifdef _WIN32
static SERVICE_STATUS_HANDLE svc_handle;
static SERVICE_STATUS svc_status;
static HANDLE svc_stop;
static wchar_t svc_name[256];
static const char *svc_ready;

static void svc_report(DWORD state)
{
	svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	svc_status.dwCurrentState = state;
	svc_status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP : 0;
	SetServiceStatus(svc_handle, &svc_status);
}

static DWORD WINAPI svc_control(DWORD control, DWORD type, void *data, void *ctx)
{
	(void)type;
	(void)data;
	(void)ctx;
	if (control == SERVICE_CONTROL_STOP) {
		svc_report(SERVICE_STOP_PENDING);
		SetEvent(svc_stop);
	}
	return NO_ERROR;
}

static void WINAPI svc_main(DWORD argc, wchar_t **argv)
{
	struct ap_err err = AP_ERR_INIT;

	(void)argc;
	(void)argv;
	svc_handle = RegisterServiceCtrlHandlerExW(svc_name, svc_control, NULL);
	if (!svc_handle)
		return;
	svc_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
	svc_report(SERVICE_RUNNING);
	ap_fsx_write_atomic(svc_ready, "running\n", 8, 0644, &err);
	WaitForSingleObject(svc_stop, 300 * 1000);
	svc_report(SERVICE_STOPPED);
}

static int service(const char *name, const char *ready)
{
	SERVICE_TABLE_ENTRYW table[2];
	wchar_t *w = ap_fsx_utf8_to_wide(name);

	if (!w || wcslen(w) >= sizeof(svc_name) / sizeof(svc_name[0]))
		return 2;
	memcpy(svc_name, w, (wcslen(w) + 1) * sizeof(*w));
	free(w);
	svc_ready = ready;
	table[0].lpServiceName = svc_name;
	table[0].lpServiceProc = svc_main;
	table[1].lpServiceName = NULL;
	table[1].lpServiceProc = NULL;
	return StartServiceCtrlDispatcherW(table) ? 0 : 3;
}
#endif

int main(int argc, char **argv)
{
	struct ap_err err = AP_ERR_INIT;
	size_t len = 0;
	char *buf;
	int code;

	if (ap_fsx_utf8_args(&argc, &argv, &err) == 0 && argc == 5 &&
	    strcmp(argv[1], "--hold") == 0)
		return hold(argv[2], argv[3], argv[4]);
#ifdef _WIN32
	if (err.code == 0 && argc == 4 && strcmp(argv[1], "--service") == 0)
		return service(argv[2], argv[3]);
#endif
	if (err.code != 0 || argc < 3) {
		fprintf(stderr, "usage: ap-argv-tool OUT CODE [ARGS...]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++)
		len += strlen(argv[i]) + 1;
	buf = malloc(len + 1);
	if (!buf)
		return 2;
	len = 0;
	for (int i = 3; i < argc; i++) {
		size_t n = strlen(argv[i]);

		memcpy(buf + len, argv[i], n);
		len += n;
		buf[len++] = '\n';
	}
	if (ap_fsx_write_atomic(argv[1], buf, len, 0644, &err) != 0) {
		fprintf(stderr, "ap-argv-tool: %s\n", err.msg);
		free(buf);
		return 2;
	}
	free(buf);
	code = (int)strtol(argv[2], NULL, 10);
	return code;
}
