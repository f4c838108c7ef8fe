/* service.c - services as systemd units (POSIX); see airpack/service.h and
 * docs/services.md.  Windows: service_win.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airpack/fsx.h"
#include "airpack/process.h"
#include "airpack/service.h"
#include "airpack/str.h"
#include "airpack/banned.h"

#define UNIT_DIR "etc/systemd/system"
#define WANTS_DIR UNIT_DIR "/multi-user.target.wants"
#define UNIT_MAX (64 * 1024)

/* The first line of every unit airpack writes: whose it is. */
static void owner_line(const struct ap_service_where *w, char *out, size_t size)
{
	snprintf(out, size, "# Written by airpack-setup for %s; its uninstall removes it.\n",
		 w->product ? w->product : "");
}

/* One word of ExecStart, quoted as systemd reads it: in double quotes, with
 * backslash and quote escaped, '%' (a specifier) and '$' (a variable)
 * doubled.  A failed append marks b failed; the caller checks once. */
static void quote_word(struct ap_strbuf *b, const char *s)
{
	ap_strbuf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			ap_strbuf_addch(b, '\\');
		else if (*s == '%' || *s == '$')
			ap_strbuf_addch(b, *s);
		ap_strbuf_addch(b, *s);
	}
	ap_strbuf_addch(b, '"');
}

int ap_service_unit(const struct ap_service_where *w, const struct ap_receipt_service *s,
		    char **text, size_t *len, struct ap_err *err)
{
	struct ap_strbuf b = AP_STRBUF_INIT;
	char owner[256];

	owner_line(w, owner, sizeof(owner));
	ap_strbuf_addstr(&b, owner);
	ap_strbuf_addf(&b, "[Unit]\nDescription=%s\n", s->description ? s->description : s->name);
	ap_strbuf_addstr(&b, "After=network-online.target\nWants=network-online.target\n\n"
			     "[Service]\nExecStart=");
	{
		char *program = ap_strcat2("/", s->program);

		if (program)
			quote_word(&b, program);
		else
			b.failed = true;
		free(program);
	}
	for (size_t i = 0; i < s->n_args; i++) {
		ap_strbuf_addch(&b, ' ');
		quote_word(&b, s->args[i]);
	}
	ap_strbuf_addstr(&b, "\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n");
	*text = ap_strbuf_detach(&b, len);
	if (!*text)
		return ap_err_set(err, AP_E_NOMEM, "out of memory writing the unit of '%s'",
				  s->name);
	return 0;
}

bool ap_service_can_register(const struct ap_service_where *w)
{
	return !w->foreign;
}

/* systemd runs this host (sd_booted's test), so systemctl can be told. */
static bool systemd_running(const struct ap_service_where *w)
{
	return w->host && ap_fsx_is_dir("/run/systemd/system");
}

static const char *systemctl_path(void)
{
	static const char *const paths[] = { "/usr/bin/systemctl", "/bin/systemctl" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* systemctl VERB [UNIT]: its exit code in *code. */
static int systemctl(const char *verb, const char *unit, int *code, struct ap_err *err)
{
	const char *prog = systemctl_path();
	char *args[3] = { (char *)verb, (char *)unit, NULL };

	if (!prog)
		return ap_err_set(err, AP_E_RUN, "systemd runs here but systemctl was not found");
	return ap_process_run(prog, args, unit ? 2 : 1, NULL, code, err);
}

static char *unit_name(const char *name)
{
	return ap_strcat2(name, ".service");
}

/* Each folder from ROOT/etc down to rel is a folder (or not there yet):
 * never a link, so no unit is written outside the root. */
static int check_dirs(const struct ap_service_where *w, const char *rel, struct ap_err *err)
{
	char *path = ap_strdup(rel);
	int rc = 0;

	if (!path)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	for (char *p = path; rc == 0 && p;) {
		struct ap_stat st;
		char *slash = strchr(p, '/');

		if (slash)
			*slash = '\0';
		rc = ap_fsx_stat_under(w->root, path, &st, err);
		if (rc == 0 && st.type != AP_FT_DIR && st.type != AP_FT_NONE)
			rc = ap_err_set(err, AP_E_UNSAFE,
					"'%s' in the root '%s' is not a folder: no service unit "
					"is written through it",
					path, w->root);
		if (slash)
			*slash = '/';
		p = slash ? slash + 1 : NULL;
	}
	free(path);
	return rc;
}

/* Whether ROOT/UNIT_DIR/name.service is absent (*ours false) or a unit
 * airpack wrote for this product (*ours true); anything else is refused. */
static int check_owner(const struct ap_service_where *w, const char *name, bool *exists,
		       struct ap_err *err)
{
	char *unit = unit_name(name);
	char *rel = unit ? ap_fsx_path_join(UNIT_DIR, unit) : NULL;
	char owner[256], head[256];
	struct ap_stat st;
	FILE *fp = NULL;
	size_t n = 0;
	int rc;

	*exists = false;
	if (!rel) {
		free(unit);
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	}
	rc = ap_fsx_open_under(w->root, rel, &fp, &st, err);
	if (rc == 0 && !fp && st.type != AP_FT_NONE)
		rc = ap_err_set(err, AP_E_EXISTS,
				"service '%s': '%s' in the root '%s' is not a unit airpack "
				"wrote: left as it is",
				name, rel, w->root);
	if (rc == 0 && fp) {
		owner_line(w, owner, sizeof(owner));
		n = fread(head, 1, strlen(owner), fp);
		if (n != strlen(owner) || memcmp(head, owner, n) != 0)
			rc = ap_err_set(err, AP_E_EXISTS,
					"service '%s': the unit '%s' in the root '%s' was not "
					"written by airpack-setup for '%s': left as it is",
					name, rel, w->root, w->product ? w->product : "");
		*exists = true;
		fclose(fp);
	}
	free(rel);
	free(unit);
	return rc;
}

int ap_service_check(const struct ap_service_where *w, const struct ap_receipt_service *s,
		     struct ap_err *err)
{
	bool exists;
	int rc = check_dirs(w, WANTS_DIR, err);

	if (rc == 0)
		rc = check_owner(w, s->name, &exists, err);
	return rc;
}

int ap_service_register(const struct ap_service_where *w, const struct ap_receipt_service *s,
			char *note, size_t size, struct ap_err *err)
{
	char *unit = unit_name(s->name);
	char *unit_path = NULL, *link_path = NULL, *link_dir = NULL, *target = NULL;
	char *text = NULL;
	size_t len = 0;
	bool exists;
	int rc, code = 0;

	if (!unit)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = check_dirs(w, WANTS_DIR, err);
	if (rc == 0)
		rc = check_owner(w, s->name, &exists, err);
	if (rc == 0)
		rc = ap_service_unit(w, s, &text, &len, err);
	if (rc < 0)
		goto out;
	unit_path = ap_fsx_path_join3(w->root, UNIT_DIR, unit);
	link_dir = ap_fsx_path_join(w->root, WANTS_DIR);
	link_path = link_dir ? ap_fsx_path_join(link_dir, unit) : NULL;
	target = ap_strcat2("/" UNIT_DIR "/", unit);
	if (!unit_path || !link_path || !target) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = ap_fsx_mkdir_p(link_dir, 0755, err);
	if (rc == 0)
		rc = ap_fsx_write_atomic(unit_path, text, len, 0644, err);
	if (rc < 0)
		goto out;
	/* Enabled as `systemctl enable` does: an absolute link to the unit. */
	if (unlink(link_path) != 0 && errno != ENOENT) {
		rc = ap_err_sys(err, AP_E_IO, "cannot replace '%s'", link_path);
		goto out;
	}
	if (symlink(target, link_path) != 0) {
		rc = ap_err_sys(err, AP_E_IO, "cannot enable service '%s': '%s'", s->name,
				link_path);
		goto out;
	}
	if (!systemd_running(w)) {
		snprintf(note, size, "%s",
			 w->host ? "enabled: starts at the next boot (systemd is not running here)"
				 : "enabled in the image: starts when it boots");
		goto out;
	}
	rc = systemctl("daemon-reload", NULL, &code, err);
	if (rc == 0 && code != 0)
		rc = ap_err_set(err, AP_E_RUN, "systemctl daemon-reload exited with %d", code);
	if (rc == 0)
		rc = systemctl("restart", unit, &code, err);
	if (rc == 0 && code != 0)
		rc = ap_err_set(err, AP_E_RUN,
				"service '%s' did not start: systemctl restart exited with %d "
				"(journalctl -u %s says why)",
				s->name, code, unit);
	if (rc == 0)
		snprintf(note, size, "%s", exists ? "restarted" : "started");
out:
	free(text);
	free(unit);
	free(unit_path);
	free(link_dir);
	free(link_path);
	free(target);
	return rc;
}

/* systemctl VERB on the service's unit, when systemd runs the root; an exit
 * code other than 0 and also_ok is an error. */
static int unit_verb(const struct ap_service_where *w, const char *verb, const char *name,
		     int also_ok, struct ap_err *err)
{
	char *unit;
	int rc, code = 0;

	if (!systemd_running(w))
		return 0;
	unit = unit_name(name);
	if (!unit)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	rc = systemctl(verb, unit, &code, err);
	if (rc == 0 && code != 0 && code != also_ok)
		rc = ap_err_set(err, AP_E_RUN,
				"cannot %s service '%s': systemctl %s exited with %d", verb, name,
				verb, code);
	free(unit);
	return rc;
}

int ap_service_stop(const struct ap_service_where *w, const char *name, struct ap_err *err)
{
	/* 5: no such unit, which is stopped enough. */
	return unit_verb(w, "stop", name, 5, err);
}

int ap_service_start(const struct ap_service_where *w, const char *name, struct ap_err *err)
{
	return unit_verb(w, "start", name, 0, err);
}

int ap_service_remove(const struct ap_service_where *w, const char *name, struct ap_err *err)
{
	char *unit = unit_name(name);
	char *unit_rel = unit ? ap_fsx_path_join(UNIT_DIR, unit) : NULL;
	char *link_rel = unit ? ap_fsx_path_join(WANTS_DIR, unit) : NULL;
	bool exists;
	int rc, code = 0;

	if (!unit_rel || !link_rel) {
		rc = ap_err_set(err, AP_E_NOMEM, "out of memory");
		goto out;
	}
	rc = check_owner(w, name, &exists, err);
	if (rc == 0 && exists)
		rc = ap_service_stop(w, name, err);
	if (rc == 0 && exists)
		rc = ap_fsx_unlink_under(w->root, link_rel, err);
	if (rc == 0 && exists)
		rc = ap_fsx_unlink_under(w->root, unit_rel, err);
	if (rc == 0 && exists && systemd_running(w)) {
		rc = systemctl("daemon-reload", NULL, &code, err);
		if (rc == 0 && code != 0)
			rc = ap_err_set(err, AP_E_RUN, "systemctl daemon-reload exited with %d",
					code);
	}
out:
	free(unit);
	free(unit_rel);
	free(link_rel);
	return rc;
}

void ap_service_state(const struct ap_service_where *w, const char *name, char *out, size_t size)
{
	struct ap_err ignore = AP_ERR_INIT;
	char *unit = unit_name(name);
	char *unit_rel = unit ? ap_fsx_path_join(UNIT_DIR, unit) : NULL;
	char *link_rel = unit ? ap_fsx_path_join(WANTS_DIR, unit) : NULL;
	struct ap_stat us, ls;
	char *args[4];
	int code = -1;

	snprintf(out, size, "unknown");
	if (!unit_rel || !link_rel || ap_fsx_stat_under(w->root, unit_rel, &us, &ignore) < 0 ||
	    ap_fsx_stat_under(w->root, link_rel, &ls, &ignore) < 0)
		goto out;
	if (us.type == AP_FT_NONE) {
		snprintf(out, size, "not registered");
		goto out;
	}
	if (systemd_running(w) && systemctl_path()) {
		args[0] = "is-active";
		args[1] = "--quiet";
		args[2] = unit;
		args[3] = NULL;
		if (ap_process_run(systemctl_path(), args, 3, NULL, &code, &ignore) == 0) {
			snprintf(out, size, "%s", code == 0 ? "running" : "stopped");
			goto out;
		}
	}
	snprintf(out, size, "%s", ls.type == AP_FT_LINK ? "enabled (starts at boot)" : "disabled");
out:
	free(unit);
	free(unit_rel);
	free(link_rel);
}
