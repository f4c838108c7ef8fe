/* service_win.c - services through the Service Control Manager; see
 * airpack/service.h and docs/services.md.
 *
 * A service airpack registers is an own-process service started
 * automatically, running as LocalSystem, its description prefixed with
 * "[airpack-setup PRODUCT] " so that a service of the same name someone
 * else created is recognised and left alone.  Only the running system's
 * registry can be written: an image root's services wait for firstboot. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>

#include "airpack/fsx.h"
#include "airpack/process.h"
#include "airpack/service.h"
#include "airpack/str.h"
#include "airpack/banned.h"

/* How long a start or stop may take before it is reported as failed. */
#define WAIT_MS 30000
#define POLL_MS 100

bool ap_service_can_register(const struct ap_service_where *w)
{
	return w->host && !w->foreign;
}

int ap_service_unit(const struct ap_service_where *w, const struct ap_receipt_service *s,
		    char **text, size_t *len, struct ap_err *err)
{
	(void)w;
	(void)text;
	(void)len;
	return ap_err_set(err, AP_E_USAGE, "service '%s': systemd units are not written on Windows",
			  s->name);
}

static int win_fail(struct ap_err *err, const char *what, const char *name)
{
	return ap_err_set(err, AP_E_RUN, "service '%s': %s failed: Windows error %lu", name, what,
			  (unsigned long)GetLastError());
}

static char *marker(const struct ap_service_where *w)
{
	return ap_strcat2("[airpack-setup ", w->product ? w->product : "");
}

/* Open the manager and, when it exists, the service (*svc NULL if not). */
static int open_service(const char *name, DWORD scm_access, DWORD access, SC_HANDLE *scm,
			SC_HANDLE *svc, struct ap_err *err)
{
	wchar_t *wname = ap_fsx_utf8_to_wide(name);

	*svc = NULL;
	*scm = NULL;
	if (!wname)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	*scm = OpenSCManagerW(NULL, NULL, scm_access);
	if (!*scm) {
		free(wname);
		return win_fail(err, "opening the service manager", name);
	}
	*svc = OpenServiceW(*scm, wname, access);
	free(wname);
	if (!*svc && GetLastError() != ERROR_SERVICE_DOES_NOT_EXIST) {
		CloseServiceHandle(*scm);
		*scm = NULL;
		return win_fail(err, "opening it", name);
	}
	return 0;
}

static void close_service(SC_HANDLE scm, SC_HANDLE svc)
{
	if (svc)
		CloseServiceHandle(svc);
	if (scm)
		CloseServiceHandle(scm);
}

/* svc's description starts with this product's marker. */
static int check_ours(const struct ap_service_where *w, SC_HANDLE svc, const char *name,
		      struct ap_err *err)
{
	BYTE buf[8192];
	SERVICE_DESCRIPTIONW *d = (SERVICE_DESCRIPTIONW *)buf;
	DWORD need = 0;
	char *mine = marker(w), *desc = NULL;
	bool ours;

	if (!mine)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	memset(buf, 0, sizeof(buf));
	if (QueryServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, buf, sizeof(buf), &need) &&
	    d->lpDescription)
		desc = ap_fsx_wide_to_utf8(d->lpDescription);
	ours = desc && strncmp(desc, mine, strlen(mine)) == 0 && desc[strlen(mine)] == ']';
	free(desc);
	free(mine);
	if (!ours)
		return ap_err_set(err, AP_E_EXISTS,
				  "service '%s' exists and was not registered by airpack-setup "
				  "for '%s': left as it is",
				  name, w->product ? w->product : "");
	return 0;
}

int ap_service_check(const struct ap_service_where *w, const struct ap_receipt_service *s,
		     struct ap_err *err)
{
	SC_HANDLE scm, svc;
	int rc;

	if (!w->host)
		return 0;
	rc = open_service(s->name, SC_MANAGER_CONNECT, SERVICE_QUERY_CONFIG, &scm, &svc, err);
	if (rc == 0 && svc)
		rc = check_ours(w, svc, s->name, err);
	close_service(scm, svc);
	return rc;
}

/* Wait (bounded) until svc is in state want. */
static bool wait_state(SC_HANDLE svc, DWORD want)
{
	SERVICE_STATUS st;

	for (int waited = 0; waited <= WAIT_MS; waited += POLL_MS) {
		if (!QueryServiceStatus(svc, &st))
			return false;
		if (st.dwCurrentState == want)
			return true;
		Sleep(POLL_MS);
	}
	return false;
}

static int start(SC_HANDLE svc, const char *name, struct ap_err *err)
{
	if (!StartServiceW(svc, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
		return win_fail(err, "starting it", name);
	if (!wait_state(svc, SERVICE_RUNNING))
		return ap_err_set(err, AP_E_RUN,
				  "service '%s' did not reach the running state in "
				  "%d s",
				  name, WAIT_MS / 1000);
	return 0;
}

static int stop(SC_HANDLE svc, const char *name, struct ap_err *err)
{
	SERVICE_STATUS st;

	if (!ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
		DWORD e = GetLastError();

		if (e == ERROR_SERVICE_NOT_ACTIVE || e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL)
			return 0;
		return win_fail(err, "stopping it", name);
	}
	if (!wait_state(svc, SERVICE_STOPPED))
		return ap_err_set(err, AP_E_RUN, "service '%s' did not stop in %d s", name,
				  WAIT_MS / 1000);
	return 0;
}

int ap_service_register(const struct ap_service_where *w, const struct ap_receipt_service *s,
			char *note, size_t size, struct ap_err *err)
{
	SC_HANDLE scm = NULL, svc = NULL;
	SERVICE_DESCRIPTIONW sd;
	wchar_t *cmd = NULL, *wname = NULL, *wdisplay = NULL, *wdesc = NULL;
	char *program = ap_fsx_path_join(w->root, s->program);
	char *mark = marker(w);
	char *desc = NULL;
	bool existed;
	int rc;

	if (!w->host) {
		rc = ap_err_set(err, AP_E_USAGE,
				"service '%s': an image's services are registered "
				"by firstboot on the device",
				s->name);
		goto out;
	}
	desc = mark ? ap_strcat2(mark, "] ") : NULL;
	if (desc) {
		char *full = ap_strcat2(desc, s->description ? s->description : s->name);

		free(desc);
		desc = full;
	}
	if (!program || !desc) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_process_command_line(program, s->args, s->n_args, &cmd, err);
	if (rc < 0)
		goto out;
	wname = ap_fsx_utf8_to_wide(s->name);
	wdisplay = ap_fsx_utf8_to_wide(s->description ? s->description : s->name);
	wdesc = ap_fsx_utf8_to_wide(desc);
	if (!wname || !wdisplay || !wdesc) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = open_service(s->name, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE,
			  SERVICE_ALL_ACCESS, &scm, &svc, err);
	if (rc < 0)
		goto out;
	existed = svc != NULL;
	if (svc) {
		rc = check_ours(w, svc, s->name, err);
		if (rc == 0 && !ChangeServiceConfigW(svc, SERVICE_WIN32_OWN_PROCESS,
						     SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd,
						     NULL, NULL, NULL, NULL, NULL, wdisplay))
			rc = win_fail(err, "changing its configuration", s->name);
	} else {
		svc = CreateServiceW(scm, wname, wdisplay, SERVICE_ALL_ACCESS,
				     SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
				     SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL, NULL, NULL);
		if (!svc)
			rc = win_fail(err, "creating it", s->name);
	}
	sd.lpDescription = wdesc;
	if (rc == 0 && !ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &sd))
		rc = win_fail(err, "setting its description", s->name);
	if (rc == 0)
		rc = start(svc, s->name, err);
	if (rc == 0)
		snprintf(note, size, "%s",
			 existed ? "registered again and started" : "registered and started");
out:
	close_service(scm, svc);
	free(cmd);
	free(wname);
	free(wdisplay);
	free(wdesc);
	free(program);
	free(mark);
	free(desc);
	return rc;
}

int ap_service_stop(const struct ap_service_where *w, const char *name, struct ap_err *err)
{
	SC_HANDLE scm, svc;
	int rc;

	if (!w->host)
		return 0;
	rc = open_service(name, SC_MANAGER_CONNECT, SERVICE_STOP | SERVICE_QUERY_STATUS, &scm, &svc,
			  err);
	if (rc == 0 && svc)
		rc = stop(svc, name, err);
	close_service(scm, svc);
	return rc;
}

int ap_service_start(const struct ap_service_where *w, const char *name, struct ap_err *err)
{
	SC_HANDLE scm, svc;
	int rc;

	if (!w->host)
		return 0;
	rc = open_service(name, SC_MANAGER_CONNECT, SERVICE_START | SERVICE_QUERY_STATUS, &scm,
			  &svc, err);
	if (rc == 0 && svc)
		rc = start(svc, name, err);
	close_service(scm, svc);
	return rc;
}

int ap_service_remove(const struct ap_service_where *w, const char *name, struct ap_err *err)
{
	SC_HANDLE scm, svc;
	int rc;

	if (!w->host)
		return 0;
	rc = open_service(name, SC_MANAGER_CONNECT,
			  SERVICE_STOP | SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG | DELETE, &scm,
			  &svc, err);
	if (rc == 0 && svc)
		rc = check_ours(w, svc, name, err);
	if (rc == 0 && svc)
		rc = stop(svc, name, err);
	if (rc == 0 && svc && !DeleteService(svc) &&
	    GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE)
		rc = win_fail(err, "deleting it", name);
	close_service(scm, svc);
	return rc;
}

void ap_service_state(const struct ap_service_where *w, const char *name, char *out, size_t size)
{
	struct ap_err ignore = AP_ERR_INIT;
	SC_HANDLE scm, svc;
	SERVICE_STATUS st;
	const char *s = "unknown";

	if (!w->host) {
		snprintf(out, size, "waits for firstboot");
		return;
	}
	if (open_service(name, SC_MANAGER_CONNECT, SERVICE_QUERY_STATUS, &scm, &svc, &ignore) < 0) {
		snprintf(out, size, "%s", s);
		return;
	}
	if (!svc)
		s = "not registered";
	else if (QueryServiceStatus(svc, &st))
		s = st.dwCurrentState == SERVICE_RUNNING	 ? "running"
		    : st.dwCurrentState == SERVICE_STOPPED	 ? "stopped"
		    : st.dwCurrentState == SERVICE_START_PENDING ? "starting"
		    : st.dwCurrentState == SERVICE_STOP_PENDING	 ? "stopping"
								 : "paused";
	close_service(scm, svc);
	snprintf(out, size, "%s", s);
}
