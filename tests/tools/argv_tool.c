/* argv_tool.c - ap-argv-tool OUT CODE [ARGS...]: write each ARG and a newline
 * to the file OUT (relative to the working folder) and exit with CODE.  The
 * process tests start it through ap_process_run to see exactly which
 * arguments arrived (Windows: after the command line's quoting). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airpack/fsx.h"

int main(int argc, char **argv)
{
	struct ap_err err = AP_ERR_INIT;
	size_t len = 0;
	char *buf;
	int code;

	if (ap_fsx_utf8_args(&argc, &argv, &err) != 0 || argc < 3) {
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
