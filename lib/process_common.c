/* process_common.c - the part of process (airpack/process.h) that is the
 * same on every OS: the stdout-to-stderr switch and the captured output's
 * tail.  process.c (POSIX) and process_win.c start the programs. */
#include <string.h>

#include "process_os.h"
#include "airpack/banned.h"

static bool stdout_to_stderr;

void ap_process_stdout_to_stderr(bool on)
{
	stdout_to_stderr = on;
}

bool ap_process_os_stdout_to_stderr(void)
{
	return stdout_to_stderr;
}

void ap_process_output_add(struct ap_process_output *out, const char *buf, size_t n)
{
	out->total += n;
	while (n > 0) {
		size_t room = sizeof(out->tail) - 1 - out->len;
		size_t k = n < room ? n : room;

		memcpy(out->tail + out->len, buf, k);
		out->len += k;
		buf += k;
		n -= k;
		if (out->len > AP_PROCESS_TAIL_MAX) {
			memmove(out->tail, out->tail + out->len - AP_PROCESS_TAIL_MAX,
				AP_PROCESS_TAIL_MAX);
			out->len = AP_PROCESS_TAIL_MAX;
		}
	}
	out->tail[out->len] = '\0';
}
