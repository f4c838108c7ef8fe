/* argv_tool.c - ap-argv-tool OUT CODE [ARGS...]: write each ARG and a newline
 * to the file OUT (relative to the working folder) and exit with CODE.  The
 * process tests start it through ap_process_run to see exactly which
 * arguments arrived (Windows: after the command line's quoting).
 *
 * ap-argv-tool --hold FILE READY SECONDS: keep FILE open (the C runtime's
 * sharing: no one may delete or move it on Windows), write READY, and exit
 * after SECONDS (at most 120): a running program holding a file. */
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

int main(int argc, char **argv)
{
	struct ap_err err = AP_ERR_INIT;
	size_t len = 0;
	char *buf;
	int code;

	if (ap_fsx_utf8_args(&argc, &argv, &err) == 0 && argc == 5 &&
	    strcmp(argv[1], "--hold") == 0)
		return hold(argv[2], argv[3], argv[4]);
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
