/* test_txn.c - the install transaction: install, verify, repair, upgrade,
 * downgrade, kill -9 at each switch point, run actions, firstboot,
 * uninstall, purge, byte-identical image roots; and the receipt format.
 *
 * On Windows this program is also its own run payload (copied as
 * setup.exe, see setup_main) and its own crashing installer (started with
 * --crash-child, see crash_install), where POSIX uses sh and fork. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "airpack/state.h"
#include "airpack/digest.h"
#include "airpack/fsx.h"
#include "airpack/manifest.h"
#include "airpack/process.h"
#include "airpack/receipt.h"
#include "airpack/testhook.h"
#include "airpack/txn.h"
#include "tap.h"
#include "testarc.h"
#include "testutil.h"

#define EPOCH "1700000000"
#define IMAGE_MTIME 1600000000
/* The run payload: a shell script on POSIX, this program on Windows. */
#define SETUP (TU_WINDOWS ? "setup.exe" : "setup.sh")

static char tmp[256];

/* Formatted paths from a small ring of static buffers (no frees needed). */
static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *P(const char *fmt, ...)
{
	static char ring[32][1024];
	static int next;
	char *b = ring[next++ % 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(ring[0]), fmt, ap);
	va_end(ap);
	return b;
}

static void write_file(const char *path, const char *text, unsigned mode)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fputs(text, f);
	fclose(f);
#ifdef _WIN32
	(void)mode;
#else
	chmod(path, mode);
#endif
}

/* Whole small file as a static string ("" when missing). */
static const char *slurp(const char *path)
{
	static char buf[4][8192];
	static int next;
	char *b = buf[next++ % 4];
	FILE *f = fopen(path, "rb");
	size_t n = 0;

	b[0] = '\0';
	if (f) {
		n = fread(b, 1, sizeof(buf[0]) - 1, f);
		fclose(f);
	}
	b[n] = '\0';
	return b;
}

static int count_lines(const char *path)
{
	const char *s = slurp(path);
	int n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

static bool exists(const char *path)
{
	return tu_exists(path);
}

/* Permission bits (is_mode skips the checks where there are none). */
static unsigned mode_of(const char *path)
{
#ifdef _WIN32
	(void)path;
	return 0;
#else
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	return (unsigned)(st.st_mode & 07777);
#endif
}

#ifndef _WIN32
static void run(const char *cmd)
{
	if (system(cmd) != 0) {
		printf("Bail out! command failed: %s\n", cmd);
		exit(1);
	}
}
#endif

static void mkdirs(const char *path)
{
	struct ap_err err = AP_ERR_INIT;

	if (ap_fsx_mkdir_p(path, 0755, &err) != 0) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
}

static void sha_of(const char *path, char hex[AP_SHA256_HEX], uint64_t *size)
{
	struct ap_err err = AP_ERR_INIT;

	if (ap_digest_file(path, hex, size, NULL, NULL, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
}

/* ---- payloads and manifests ---- */

struct payloads {
	char tgz[512];
	char conf[512];
	char script[512];
	int calls;
	int movable_on_entry; /* calls where *movable was not false on entry */
};

static int get_payload(void *ctx, const struct ap_component *c, char **path_out, bool *movable,
		       struct ap_err *err)
{
	struct payloads *p = ctx;
	const char *path = NULL;

	p->calls++;
	if (strcmp(c->name, "app") == 0)
		path = p->tgz;
	else if (strcmp(c->name, "conf") == 0)
		path = p->conf;
	else if (strcmp(c->name, "setup") == 0)
		path = p->script;
	if (!path)
		return ap_err_set(err, AP_E_NOTFOUND, "no payload for '%s'", c->name);
	if (*movable)
		p->movable_on_entry++;
	*path_out = strdup(path);
	return *path_out ? 0 : AP_E_NOMEM;
}

static int failing_payload(void *ctx, const struct ap_component *c, char **path_out, bool *movable,
			   struct ap_err *err)
{
	(void)ctx;
	(void)path_out;
	(void)movable;
	return ap_err_set(err, AP_E_OFFLINE, "'%s' is not available offline", c->name);
}

struct release {
	struct ap_manifest *m;
	char *json;
	size_t len;
	struct payloads pl;
	/* make_release's arguments, for a child that makes it again */
	char product[32], version[32], exit_code[16], ok_codes[64];
};

/* A release of product `product`: app.tar.gz (extract), app.conf (copy to
 * etc/app.conf 0640), setup.sh (run, exits with `exit_code`). */
static void make_release(struct release *r, const char *product, const char *version,
			 const char *tgz, const char *exit_code, const char *ok_codes)
{
	char tsha[AP_SHA256_HEX], csha[AP_SHA256_HEX], ssha[AP_SHA256_HEX];
	uint64_t tsize, csize, ssize;
	struct ap_err err = AP_ERR_INIT;
	char *json = malloc(8192);
	int n;

	memset(r, 0, sizeof(*r));
	snprintf(r->product, sizeof(r->product), "%s", product);
	snprintf(r->version, sizeof(r->version), "%s", version);
	snprintf(r->exit_code, sizeof(r->exit_code), "%s", exit_code);
	snprintf(r->ok_codes, sizeof(r->ok_codes), "%s", ok_codes);
	snprintf(r->pl.tgz, sizeof(r->pl.tgz), "%s", tgz);
	snprintf(r->pl.conf, sizeof(r->pl.conf), "%s/payloads/app.conf", tmp);
	snprintf(r->pl.script, sizeof(r->pl.script), "%s/payloads/%s", tmp, SETUP);
	sha_of(r->pl.tgz, tsha, &tsize);
	sha_of(r->pl.conf, csha, &csize);
	sha_of(r->pl.script, ssha, &ssize);
	n = snprintf(json, 8192,
		     "{\n"
		     "  \"format\": \"airpack/1\",\n"
		     "  \"product\": \"%s\",\n"
		     "  \"version\": \"%s\",\n"
		     "  \"channel\": \"lts\",\n"
		     "  \"prefix\": \"opt/%s\",\n"
		     "  \"key_id\": \"0123456789abcdef\",\n"
		     "  \"data_dirs\": [\"var/lib/%s-data\"],\n"
		     "  \"components\": [\n"
		     "    { \"name\": \"app\", \"file\": \"app.tar.gz\", \"size\": %" PRIu64
		     ", \"sha256\": \"%s\", \"install\": { \"action\": \"extract\" } },\n"
		     "    { \"name\": \"conf\", \"file\": \"app.conf\", \"size\": %" PRIu64
		     ", \"sha256\": \"%s\", \"install\": { \"action\": \"copy\", \"to\": "
		     "\"etc/app.conf\", \"mode\": \"0640\" } },\n"
		     "    { \"name\": \"setup\", \"file\": \"%s\", \"size\": %" PRIu64
		     ", \"sha256\": \"%s\", \"install\": { \"action\": \"run\", \"args\": "
		     "[\"%s\", \"%s/runlog\", \"%s\"], \"ok_exit_codes\": %s } }\n"
		     "  ]\n"
		     "}\n",
		     product, version, product, product, tsize, tsha, csize, csha, SETUP, ssize,
		     ssha, version, tmp, exit_code, ok_codes);
	if (n <= 0 || n >= 8192 ||
	    ap_manifest_parse(json, (size_t)n, AP_MANIFEST_RELEASE, &r->m, &err) < 0) {
		printf("Bail out! manifest: %s\n", err.msg);
		exit(1);
	}
	r->json = json;
	r->len = (size_t)n;
}

static void free_release(struct release *r)
{
	ap_manifest_free(r->m);
	free(r->json);
}

static const unsigned char SIG[] = "sig-bytes\001\002";

/* Payloads handed over as airpack's own verified copies (movable): fresh
 * copies of the release's payloads in dir, made by moving_copies. */
struct moving {
	char dir[512];
	int calls;
};

static int moving_payload(void *ctx, const struct ap_component *c, char **path_out, bool *movable,
			  struct ap_err *err)
{
	struct moving *mv = ctx;

	mv->calls++;
	*path_out = strdup(P("%s/%s", mv->dir, c->file));
	if (!*path_out)
		return ap_err_set(err, AP_E_NOMEM, "out of memory");
	*movable = true;
	return 0;
}

static void moving_copies(struct moving *mv, const struct release *r, const char *dir)
{
	const char *src[3] = { r->pl.tgz, r->pl.conf, r->pl.script };

	snprintf(mv->dir, sizeof(mv->dir), "%s", dir);
	mv->calls = 0;
	mkdirs(dir);
	for (size_t i = 0; i < 3 && i < r->m->n_components; i++) {
		if (tu_copy(src[i], P("%s/%s", dir, r->m->components[i].file)) != 0) {
			printf("Bail out! cannot copy %s\n", src[i]);
			exit(1);
		}
	}
}

/* ---- events ---- */

struct events {
	char line[512][300];
	char detail[512][300];
	int n;
};

static void on_event(void *ctx, const struct ap_txn_event *ev)
{
	struct events *e = ctx;

	if (e->n >= 512)
		return;
	snprintf(e->detail[e->n], sizeof(e->detail[0]), "%s", ev->detail ? ev->detail : "");
	snprintf(e->line[e->n++], sizeof(e->line[0]), "%s %s %s%s%s", ap_txn_phase_name(ev->phase),
		 ap_txn_verdict_name(ev->verdict), ev->path ? ev->path : "-",
		 ev->actual_sha256 ? " " : "", ev->actual_sha256 ? ev->actual_sha256 : "");
}

static bool has_event(const struct events *e, const char *prefix)
{
	for (int i = 0; i < e->n; i++)
		if (strncmp(e->line[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static bool has_detail(const struct events *e, const char *part)
{
	for (int i = 0; i < e->n; i++)
		if (strstr(e->detail[i], part))
			return true;
	return false;
}

static int count_events(const struct events *e, const char *prefix)
{
	int n = 0;

	for (int i = 0; i < e->n; i++)
		if (strncmp(e->line[i], prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static struct ap_txn_opts opts_for(const char *root, struct events *ev)
{
	struct ap_txn_opts o = AP_TXN_OPTS_INIT;

	o.root = root;
	/* The test roots are folders on this host, standing for "/": the
	 * tests of AP_TXN_RUN_AUTO set it back. */
	o.run_in = AP_TXN_RUN_HOST;
	o.on_event = ev ? on_event : NULL;
	o.ctx = ev;
	return o;
}

/* Install r, signed or not, its payloads from fn. */
static int install_from(struct release *r, bool with_sig, ap_txn_payload_fn fn, void *ctx,
			const struct ap_txn_opts *o, struct ap_txn_result *res, struct ap_err *err)
{
	struct ap_txn_release rel;

	memset(&rel, 0, sizeof(rel));
	rel.m = r->m;
	rel.manifest_json = r->json;
	rel.mlen = r->len;
	if (with_sig) {
		rel.sig = SIG;
		rel.siglen = sizeof(SIG) - 1;
	}
	rel.get_payload = fn;
	rel.payload_ctx = ctx;
	return ap_txn_install(&rel, o, res, err);
}

static int install(struct release *r, const struct ap_txn_opts *o, struct ap_txn_result *res,
		   struct ap_err *err)
{
	return install_from(r, true, get_payload, &r->pl, o, res, err);
}

static struct ap_receipt *status(const char *root, const char *product)
{
	struct ap_receipt *r = NULL;
	struct ap_err err = AP_ERR_INIT;

	if (ap_txn_status(root, product, &r, &err) < 0)
		printf("# status: %s\n", err.msg);
	return r;
}

static int verify(const char *root, struct ap_txn_verify_stats *st, struct events *ev,
		  struct ap_err *err)
{
	struct ap_txn_opts o = opts_for(root, ev);

	return ap_txn_verify(&o, NULL, st, err);
}

/* ---- tree comparison for the image test ---- */

#ifdef _WIN32
/* The POSIX listing below through ap_fsx_stat: no symlinks to tell apart,
 * and the mode is the one fsx makes up (the same for both trees). */
static void list_tree(const char *base, const char *rel, FILE *out)
{
	struct ap_err err = AP_ERR_INIT;
	char **names = NULL;
	size_t n = 0;
	const char *dir = rel[0] ? P("%s/%s", base, rel) : base;

	if (ap_fsx_list_dir(dir, &names, &n, &err) < 0) {
		fprintf(out, "error %s\n", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char crel[1024], cabs[1200];
		struct ap_stat st;

		snprintf(crel, sizeof(crel), "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
		snprintf(cabs, sizeof(cabs), "%s/%s", base, crel);
		if (ap_fsx_stat(cabs, &st, NULL) != 0 || st.type == AP_FT_NONE)
			continue;
		if (st.type == AP_FT_DIR) {
			fprintf(out, "d %s %04o %lld\n", crel, st.mode, (long long)st.mtime);
			list_tree(base, crel, out);
		} else {
			char hex[AP_SHA256_HEX];
			uint64_t size;

			sha_of(cabs, hex, &size);
			fprintf(out, "f %s %04o %" PRIu64 " %s %lld\n", crel, st.mode, size, hex,
				strcmp(names[i], "lock") == 0 ? 0LL : (long long)st.mtime);
		}
	}
	ap_fsx_strv_free(names, n);
}

static char *tree_listing(const char *root)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;

	if (ap_fsx_memstream(&f, NULL) != 0)
		return NULL;
	list_tree(root, "", f);
	if (ap_fsx_memstream_take(f, &buf, &len, NULL) != 0)
		return NULL;
	return buf;
}
#else
static void list_tree(const char *base, const char *rel, FILE *out)
{
	struct ap_err err = AP_ERR_INIT;
	char **names = NULL;
	size_t n = 0;
	const char *dir = rel[0] ? P("%s/%s", base, rel) : base;

	if (ap_fsx_list_dir(dir, &names, &n, &err) < 0) {
		fprintf(out, "error %s\n", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char crel[1024], cabs[1200];
		struct stat st;

		snprintf(crel, sizeof(crel), "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
		snprintf(cabs, sizeof(cabs), "%s/%s", base, crel);
		if (lstat(cabs, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			fprintf(out, "d %s %04o %lld\n", crel, (unsigned)(st.st_mode & 07777),
				(long long)st.st_mtime);
			list_tree(base, crel, out);
		} else {
			char hex[AP_SHA256_HEX];
			uint64_t size;

			sha_of(cabs, hex, &size);
			/* The lock file is the only file whose time is not ours. */
			fprintf(out, "f %s %04o %" PRIu64 " %s %lld\n", crel,
				(unsigned)(st.st_mode & 07777), size, hex,
				strcmp(names[i], "lock") == 0 ? 0LL : (long long)st.st_mtime);
		}
	}
	ap_fsx_strv_free(names, n);
}

static char *tree_listing(const char *root)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	list_tree(root, "", f);
	fclose(f);
	return buf;
}
#endif

/* ---- crash simulation ---- */

/* The install crash_install's child makes: AP_TXN_CRASH_AT=point; returns
 * the child's exit code unless the hook fires (_Exit(137)). */
static int crash_child(struct release *r, const char *root, const char *point, bool no_exchange)
{
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_err err = AP_ERR_INIT;
	int rc;

	tu_setenv("AP_TXN_CRASH_AT", point);
	if (no_exchange)
		tu_setenv("AP_TXN_NO_EXCHANGE", "1");
	o.no_run = true;
	o.allow_downgrade = true;
	rc = install(r, &o, NULL, &err);
	printf("# child install returned %d: %s\n", rc, err.msg);
	fflush(stdout);
	return rc == 0 ? 0 : 1;
}

/* Run an install in a child with AP_TXN_CRASH_AT=point; the child's exit
 * status (137 when the hook fired). */
#ifdef _WIN32
/* No fork: this program again, told to make the release r again. */
static int crash_install(struct release *r, const char *root, const char *point, bool no_exchange)
{
	char *args[] = { (char *)"--crash-child",
			 (char *)root,
			 (char *)point,
			 (char *)(no_exchange ? "1" : "0"),
			 tmp,
			 r->product,
			 r->version,
			 r->pl.tgz,
			 r->exit_code,
			 r->ok_codes };
	struct ap_err err = AP_ERR_INIT;
	char *self = NULL;
	int code = -1;

	if (ap_fsx_self_exe(&self, &err) != 0 ||
	    ap_process_run(self, args, sizeof(args) / sizeof(args[0]), NULL, &code, &err) != 0) {
		printf("# cannot start the crash child: %s\n", err.msg);
		code = -1;
	}
	free(self);
	return code;
}
#else
static int crash_install(struct release *r, const char *root, const char *point, bool no_exchange)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0)
		_exit(crash_child(r, root, point, no_exchange));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

/* ---- tests ---- */

static void test_receipt_format(void)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r = ap_receipt_new(), *back = NULL;
	char *json = NULL, *json2 = NULL;
	size_t len = 0, len2 = 0;
	int rc;

	r->product = strdup("demo");
	r->version = strdup("1.0.0");
	r->prefix = strdup("opt/demo");
	r->installed_at = 1700000000;
	memset(r->manifest_sha256, 'a', 64);
	r->n_files = 2;
	r->files = calloc(2, sizeof(*r->files));
	r->files[0].path = strdup("opt/demo/z \"quoted\" é");
	r->files[0].component = strdup("a\\b\n");
	r->files[0].mode = 0755;
	r->files[0].size = 5000000000ULL;
	memset(r->files[0].sha256, 'b', 64);
	r->files[1].path = strdup("opt/demo/a");
	r->files[1].component = strdup("app");
	r->files[1].mode = 0600;
	memset(r->files[1].sha256, 'c', 64);
	rc = ap_receipt_emit(r, &json, &len, &err);
	is_int(rc, 0, "receipt emit");
	ok(json && strstr(json, "\"opt/demo/a\"") < strstr(json, "\"opt/demo/z"),
	   "receipt files are sorted by path");
	contains(json, "\"mode\": \"0755\"", "mode is an octal string");
	contains(json, "5000000000", "sizes above 2^32 are exact");
	contains(json, "z \\\"quoted\\\" é", "quotes escaped, UTF-8 kept");
	contains(json, "\"a\\\\b\\n\"", "backslashes and control characters escaped");
	contains(json, "\"channel\": null", "absent channel is null");
	contains(json, "{\n  \"format\": \"airpack-receipt/1\",\n  \"product\": ",
		 "two-space layout like manifests");
	contains(json, "\"pending\": [],", "empty arrays stay on one line");
	contains(json,
		 "\"files\": [\n    {\n      \"path\": \"opt/demo/a\",\n      \"mode\": \"0600\",",
		 "the files, printed one at a time, are laid out as the rest");
	contains(json, "\"component\": \"a\\\\b\\n\"\n    }\n  ],\n  \"pending\": [],",
		 "and the document goes on after them");
	{
		struct ap_receipt *e = ap_receipt_new();
		char *ej = NULL;
		size_t elen = 0;

		e->product = strdup("none");
		e->version = strdup("1");
		e->prefix = strdup("opt/none");
		is_int(ap_receipt_emit(e, &ej, &elen, &err), 0, "a receipt without files emits");
		contains(ej, "\"files\": [],\n  \"pending\": []", "with an empty files array");
		free(ej);
		ap_receipt_free(e);
	}
	rc = ap_receipt_parse(json, len, &back, &err);
	is_int(rc, 0, "receipt parses back: %s", err.msg);
	if (back) {
		is_str(back->files[1].path, "opt/demo/z \"quoted\" é", "path round-trips");
		is_str(back->files[1].component, "a\\b\n", "component round-trips");
		ok(back->files[1].size == 5000000000ULL, "size round-trips");
		is_int(back->files[0].mode, 0600, "mode round-trips");
		rc = ap_receipt_emit(back, &json2, &len2, &err);
		ok(rc == 0 && len == len2 && memcmp(json, json2, len) == 0,
		   "emit(parse(emit)) is byte-identical");
	}
	ap_receipt_free(back);
	back = NULL;
	free(json2);

	{
		/* The same receipt read as a stream. */
		char *path = ap_fsx_path_join(tmp, "stream-receipt.json");
		struct ap_receipt_reader *rd = NULL;
		const struct ap_receipt_file *f = NULL;
		char *swapped;

		write_file(path, json, 0644);
		rc = ap_receipt_reader_open(path, &rd, &back, &err);
		is_int(rc, 0, "reader: opens the receipt: %s", err.msg);
		if (rc == 0) {
			ok(back->n_files == 0 && !back->files &&
				   strcmp(back->prefix, "opt/demo") == 0,
			   "reader: the head without the files");
			ok(ap_receipt_reader_next(rd, &f, &err) == 1 &&
				   strcmp(f->path, "opt/demo/a") == 0 && f->mode == 0600,
			   "reader: the first file");
			ok(ap_receipt_reader_next(rd, &f, &err) == 1 &&
				   strcmp(f->path, "opt/demo/z \"quoted\" é") == 0 &&
				   strcmp(f->component, "a\\b\n") == 0 && f->size == 5000000000ULL,
			   "reader: the second, escapes and all");
			is_int(ap_receipt_reader_next(rd, &f, &err), 0, "reader: then the end");
			ok(ap_receipt_reader_has(rd, "opt/demo/a") &&
				   !ap_receipt_reader_has(rd, "opt/demo/b"),
			   "reader: knows which paths are files");
			is_int(ap_receipt_reader_rewind(rd, &err), 0, "reader: rewinds");
			ok(ap_receipt_reader_next(rd, &f, &err) == 1 &&
				   strcmp(f->path, "opt/demo/a") == 0,
			   "reader: and starts again");
		}
		ap_receipt_reader_close(rd);
		rd = NULL;
		ap_receipt_free(back);
		back = NULL;
		/* Out of path order (the writer never does that) is refused. */
		swapped = strdup(json);
		{
			char *a = strstr(swapped, "\"opt/demo/a\"");

			memcpy(a, "\"opt/demo/~\"", 12);
		}
		write_file(path, swapped, 0644);
		rc = ap_receipt_reader_open(path, &rd, &back, &err);
		is_int(rc, AP_E_STATE, "reader: files out of order are refused");
		contains(err.msg, "out of path order", "reader: saying so");
		ok(!rd && !back, "reader: nothing on error");
		free(swapped);
		free(path);
	}

	{
		char bad[8192];
		char *p;

		snprintf(bad, sizeof(bad), "%s", json);
		p = strstr(bad, "bbbb");
		p[3] = 'x';
		rc = ap_receipt_parse(bad, strlen(bad), &back, &err);
		is_int(rc, AP_E_STATE, "a bad sha256 is refused");
		contains(err.msg, "files[1].sha256: expected 64 hex digits",
			 "error names the field");
		ok(back == NULL, "no receipt on error");

		snprintf(bad, sizeof(bad), "%s", json);
		p = strstr(bad, "\"prefix\"");
		memcpy(p, "\"prefux\"", 8);
		rc = ap_receipt_parse(bad, strlen(bad), &back, &err);
		is_int(rc, AP_E_STATE, "an unknown field is refused");
		contains(err.msg, "unknown field 'prefux'", "error names the unknown field");

		snprintf(bad, sizeof(bad), "%s", json);
		p = strstr(bad, "opt/demo/a\"");
		memcpy(p, "../demo/a", 9);
		rc = ap_receipt_parse(bad, strlen(bad), &back, &err);
		is_int(rc, AP_E_STATE, "an unsafe path is refused");
		contains(err.msg, "files[", "error names the file entry");
	}
	free(json);
	ap_receipt_free(r);
}

static void test_install_verify(struct release *v1)
{
	const char *root = P("%s/rootA", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_txn_result res = AP_TXN_RESULT_INIT;
	struct ap_txn_verify_stats st;
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r;
	struct events ev;
	char hex[AP_SHA256_HEX];
	int rc;

	memset(&ev, 0, sizeof(ev));
	o.on_event = on_event;
	o.ctx = &ev;
	remove(P("%s/runlog", tmp));
	rc = install(v1, &o, &res, &err);
	is_int(rc, 0, "fresh install: %s", err.msg);
	is_int(v1->pl.calls, 3, "each payload asked for once");
	ok(res.old_version == NULL, "fresh install has no old version");
	is_str(res.new_version, "1.0.0", "result names the new version");
	is_int(res.n_files, 5, "five files installed");
	is_int(res.n_ran, 1, "the run action ran");
	ap_txn_result_release(&res);

	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.0.0\n", "extracted file content");
	is_mode(mode_of(P("%s/opt/demo/bin/tool", root)), 0755, "extracted executable mode");
	is_mode(mode_of(P("%s/opt/demo/share/readme.txt", root)), 0644, "extracted file mode");
	is_str(slurp(P("%s/opt/demo/etc/app.conf", root)), "key = value\n", "copied file");
	is_mode(mode_of(P("%s/opt/demo/etc/app.conf", root)), 0640, "copied file has its mode");
	is_mode(mode_of(P("%s/opt/demo/%s", root, SETUP)), 0755, "run payload is executable");
	is_int(count_lines(P("%s/runlog", tmp)), 1, "run action ran once");
	is_str(slurp(P("%s/runlog", tmp)), P("1.0.0 %s/opt/demo\n", root),
	       "run action ran in the prefix with its args");
	ok(!exists(P("%s/opt/.demo.airpack-stage", root)), "no stage left");
	ok(!exists(P("%s/" AP_STATE_BASE "/demo/txn.json", root)), "no journal left");
	is_str(slurp(P("%s/" AP_STATE_BASE "/demo/manifest.json", root)), v1->json,
	       "manifest stored verbatim");
	is_str(slurp(P("%s/" AP_STATE_BASE "/demo/manifest.json.sig", root)), (const char *)SIG,
	       "signature stored verbatim");
	ok(has_event(&ev, "check ok opt/demo/etc/app.conf"), "copy payload re-hashed: event");
	ok(has_event(&ev, "file ok opt/demo/bin/tool "), "file event for an extracted file");
	ok(has_event(&ev, P("run ok opt/demo/%s", SETUP)), "run event");
	ok(has_event(&ev, "switch ok opt/demo"), "switch event");

	r = status(root, NULL);
	ok(r != NULL, "status finds the only product");
	if (r) {
		is_str(r->product, "demo", "receipt product");
		is_str(r->version, "1.0.0", "receipt version");
		is_str(r->channel, "lts", "receipt channel");
		is_str(r->key_id, "0123456789abcdef", "receipt key id");
		ap_digest_hex(v1->json, v1->len, hex);
		is_str(r->manifest_sha256, hex, "receipt manifest sha256");
		is_int(r->installed_at, 1700000000, "installed_at from SOURCE_DATE_EPOCH");
		is_int(r->n_files, 5, "receipt lists five files");
		if (r->n_files == 5) {
			is_str(r->files[0].path, "opt/demo/bin/tool", "files sorted: first");
			is_str(r->files[4].path, "opt/demo/share/readme.txt", "files sorted: last");
			sha_of(P("%s/opt/demo/bin/tool", root), hex, NULL);
			is_str(r->files[0].sha256, hex, "receipt sha256 of the tool");
			is_int(r->files[0].mode, 0755, "receipt mode of the tool");
			is_str(r->files[0].component, "app", "receipt component of the tool");
			is_str(r->files[1].path, "opt/demo/etc/app.conf", "copy file listed");
			is_int(r->files[1].mode, 0640, "copy file mode in receipt");
		}
		is_int(r->n_pending, 0, "nothing pending");
		is_int(r->n_actions, 1, "one action recorded");
		if (r->n_actions == 1) {
			is_int(r->actions[0].exit_code, 0, "action exit code recorded");
			ok(r->actions[0].ok, "action ok recorded");
			is_str(r->actions[0].program, P("opt/demo/%s", SETUP), "action program");
		}
		ok(r->n_data_dirs == 1 && strcmp(r->data_dirs[0], "var/lib/demo-data") == 0,
		   "data dirs recorded");
	}
	ap_receipt_free(r);
	contains(slurp(P("%s/" AP_STATE_BASE "/demo/receipt.json", root)), "\"mode\": \"0640\"",
		 "receipt.json holds octal mode strings");

	memset(&ev, 0, sizeof(ev));
	rc = verify(root, &st, &ev, &err);
	is_int(rc, 0, "verify passes after install: %s", err.msg);
	is_int(st.n_checked, 5, "verify checked five files");
	is_int(count_events(&ev, "verify ok "), 5, "verify reports each file ok");

	/* Damage the install four ways. */
	write_file(P("%s/opt/demo/bin/tool", root), "tool 1.0.0\nevil\n", 0755);
	unlink(P("%s/opt/demo/share/readme.txt", root));
	write_file(P("%s/opt/demo/share/user.txt", root), "mine\n", 0600);
#ifndef _WIN32
	chmod(P("%s/opt/demo/etc/app.conf", root), 0666);
#endif
	memset(&ev, 0, sizeof(ev));
	rc = verify(root, &st, &ev, &err);
	is_int(rc, AP_E_DIFFERS, "verify finds differences");
	if (tu_has_modes())
		contains(err.msg, "1 modified, 1 missing, 1 unexpected, 1 with another mode",
			 "message counts each kind");
	else
		contains(err.msg, "1 modified, 1 missing, 1 unexpected, 0 with another mode",
			 "message counts each kind (no modes to differ on this OS)");
	contains(err.msg, "'opt/demo/bin/tool'", "message names the first difference");
	ok(has_event(&ev, "verify modified opt/demo/bin/tool"), "modified file named");
	ok(has_event(&ev, "verify missing opt/demo/share/readme.txt"), "missing file named");
	ok(has_event(&ev, "verify unexpected opt/demo/share/user.txt"), "unexpected file named");
	if (tu_has_modes()) {
		ok(has_event(&ev, "verify mode opt/demo/etc/app.conf"), "mode change named");
		is_int(st.n_modified + st.n_missing + st.n_unexpected + st.n_mode, 4,
		       "four differences");
	} else {
		ok(!has_event(&ev, "verify mode "), "no mode compared where the OS keeps none");
		is_int(st.n_modified + st.n_missing + st.n_unexpected + st.n_mode, 3,
		       "three differences");
	}

	/* Reinstalling the same version repairs it and keeps the user's file. */
	o.on_event = NULL;
	rc = install(v1, &o, &res, &err);
	is_int(rc, 0, "reinstall: %s", err.msg);
	ok(!res.unchanged, "a damaged install is reinstalled");
	is_int(res.n_kept, 1, "the user's file was carried over");
	ap_txn_result_release(&res);
	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.0.0\n", "repair restored content");
	ok(exists(P("%s/opt/demo/share/readme.txt", root)), "repair restored a missing file");
	is_mode(mode_of(P("%s/opt/demo/etc/app.conf", root)), 0640, "repair restored the mode");
	is_str(slurp(P("%s/opt/demo/share/user.txt", root)), "mine\n", "user file survived");
	is_mode(mode_of(P("%s/opt/demo/share/user.txt", root)), 0600, "user file kept its mode");
	rc = verify(root, &st, NULL, &err);
	ok(rc == AP_E_DIFFERS && st.n_unexpected == 1 && st.n_modified == 0 && st.n_missing == 0 &&
		   st.n_mode == 0,
	   "after repair only the user's file differs");

	/* Same release, intact: nothing to do. */
	rc = install(v1, &o, &res, &err);
	ok(rc == 0 && res.unchanged, "reinstalling an intact release does nothing");
	ap_txn_result_release(&res);
	o.repair = true;
	rc = install(v1, &o, &res, &err);
	ok(rc == 0 && !res.unchanged, "repair forces a reinstall");
	ap_txn_result_release(&res);
	o.repair = false;
}

static void test_upgrade_downgrade(struct release *v1, struct release *v2)
{
	const char *root = P("%s/rootA", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_txn_result res = AP_TXN_RESULT_INIT;
	struct ap_txn_verify_stats st;
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r;
	int rc;

	/* rootA has 1.0.0 and the user's share/user.txt; add a file that
	 * 1.1.0 will bring too, and an empty folder of the user's. */
	write_file(P("%s/opt/demo/share/new.txt", root), "user's new.txt\n", 0644);
	tu_mkdir(P("%s/opt/demo/mydir", root));
	rc = install(v2, &o, &res, &err);
	is_int(rc, 0, "upgrade to 1.1.0: %s", err.msg);
	is_str(res.old_version, "1.0.0", "upgrade result: old version");
	is_str(res.new_version, "1.1.0", "upgrade result: new version");
	is_int(res.n_conflicts, 1, "one user file was in the release's way");
	if (res.n_conflicts == 1)
		is_str(res.conflicts[0], "opt/demo/share/new.txt", "conflict named");
	ap_txn_result_release(&res);
	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.1.0\n", "upgraded content");
	is_str(slurp(P("%s/opt/demo/share/new.txt", root)), "new in 1.1.0\n", "release wins");
	is_str(slurp(P("%s/opt/demo/share/new.txt.airpack-save", root)), "user's new.txt\n",
	       "the user's conflicting file is saved aside");
	is_str(slurp(P("%s/opt/demo/share/user.txt", root)), "mine\n", "user file kept");
	ok(ap_fsx_is_dir(P("%s/opt/demo/mydir", root)), "user's empty folder kept");
	ok(!exists(P("%s/opt/demo/share/doc", root)), "folder dropped by 1.1.0 is gone");
	ok(!exists(P("%s/opt/.demo.airpack-stage", root)), "old tree removed");
	r = status(root, "demo");
	ok(r && strcmp(r->version, "1.1.0") == 0, "receipt says 1.1.0");
	ok(r && ap_receipt_find_file(r, "opt/demo/share/user.txt") == NULL,
	   "user file not in the receipt");
	ap_receipt_free(r);
	rc = verify(root, &st, NULL, &err);
	ok(rc == AP_E_DIFFERS && st.n_unexpected == 2 && st.n_modified == 0 && st.n_missing == 0,
	   "1.1.0 verifies (user files aside)");

	/* Downgrade. */
	rc = install(v1, &o, &res, &err);
	is_int(rc, AP_E_STATE, "downgrade refused");
	contains(err.msg, "from 1.1.0 to 1.0.0", "message names both versions");
	contains(err.msg, "--allow-downgrade", "message says what to do");
	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.1.0\n", "refusal changed nothing");
	ok(!exists(P("%s/opt/.demo.airpack-stage", root)), "refusal left no stage");
	o.allow_downgrade = true;
	rc = install(v1, &o, &res, &err);
	is_int(rc, 0, "downgrade with allow_downgrade: %s", err.msg);
	ap_txn_result_release(&res);
	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.0.0\n", "downgraded content");
	r = status(root, NULL);
	ok(r && strcmp(r->version, "1.0.0") == 0, "receipt says 1.0.0");
	ap_receipt_free(r);

	/* A pin that is not the release's version. */
	o.pin = "1.2.0";
	rc = install(v2, &o, &res, &err);
	is_int(rc, AP_E_STATE, "a pin that differs from the release is refused");
	contains(err.msg, "1.2.0 was asked for", "message names the pin");
	o.pin = "1.1.0";
	rc = install(v2, &o, &res, &err);
	is_int(rc, 0, "pinned install: %s", err.msg);
	ap_txn_result_release(&res);
	r = status(root, NULL);
	ok(r && r->pinned_version && strcmp(r->pinned_version, "1.1.0") == 0,
	   "receipt records the pin");
	ap_receipt_free(r);
}

static void test_failures(struct release *v1, struct release *v2)
{
	const char *root = P("%s/rootF", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_txn_result res = AP_TXN_RESULT_INIT;
	struct ap_err err = AP_ERR_INIT;
	char saved[512];
	int lock = -1;
	int rc;

	o.no_run = true;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "failures: base install: %s", err.msg);

	/* The copy payload changed after the resolver verified it. */
	snprintf(saved, sizeof(saved), "%s", v2->pl.conf);
	snprintf(v2->pl.conf, sizeof(v2->pl.conf), "%s/payloads/evil.conf", tmp);
	write_file(v2->pl.conf, "key = VALUE\n", 0644); /* same size, other bytes */
	rc = install(v2, &o, &res, &err);
	is_int(rc, AP_E_DIGEST, "a payload that changed is refused");
	contains(err.msg, "installing 'conf'", "message names the component");
	contains(err.msg, "differs from the signed manifest", "message says what happened");
	snprintf(v2->pl.conf, sizeof(v2->pl.conf), "%s", saved);
	ok(!exists(P("%s/opt/.demo.airpack-stage", root)), "failed install removed its stage");
	ok(!exists(P("%s/" AP_STATE_BASE "/demo/receipt.json.new", root)), "no .new state left");
	is_int(verify(root, NULL, NULL, &err), 0, "old install intact after a digest failure");

	/* The payload source fails. */
	rc = install_from(v2, false, failing_payload, NULL, &o, &res, &err);
	is_int(rc, AP_E_OFFLINE, "payload errors are passed on");
	contains(err.msg, "installing 'app': 'app' is not available offline",
		 "payload error gets the component as context");
	is_int(verify(root, NULL, NULL, &err), 0, "old install intact after a payload failure");

	/* Another process holds the lock. */
	rc = ap_fsx_lock(P("%s/" AP_STATE_BASE "/demo/lock", root), &lock, &err);
	ok(rc >= 0, "test takes the lock");
	rc = install(v2, &o, &res, &err);
	is_int(rc, AP_E_STATE, "install refused while locked");
	contains(err.msg, "lock", "message mentions the lock");
	ap_fsx_unlock(lock);

	/* No signature: the stored .sig goes away with the upgrade. */
	rc = install_from(v2, false, get_payload, &v2->pl, &o, &res, &err);
	is_int(rc, 0, "install without a signature: %s", err.msg);
	ap_txn_result_release(&res);
	ok(!exists(P("%s/" AP_STATE_BASE "/demo/manifest.json.sig", root)),
	   "an old signature is not left beside an unsigned manifest");
}

static void check_intact_old(const char *root, const char *what)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r;
	int rc;

	r = status(root, NULL);
	ok(r && strcmp(r->version, "1.0.0") == 0, "%s: still 1.0.0", what);
	ap_receipt_free(r);
	rc = verify(root, NULL, NULL, &err);
	is_int(rc, 0, "%s: verify passes on the old version: %s", what, err.msg);
	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.0.0\n", "%s: old content", what);
	ok(!exists(P("%s/opt/.demo.airpack-stage", root)), "%s: stage removed", what);
	ok(!exists(P("%s/" AP_STATE_BASE "/demo/txn.json", root)), "%s: journal removed", what);
	ok(!exists(P("%s/" AP_STATE_BASE "/demo/receipt.json.new", root)), "%s: no .new", what);
}

static void check_intact_old_but_stage(const char *root)
{
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r = status(root, NULL);

	ok(r && strcmp(r->version, "1.0.0") == 0, "stage: still 1.0.0");
	ap_receipt_free(r);
	is_int(verify(root, NULL, NULL, &err), 0, "stage: verify passes on the old version: %s",
	       err.msg);
	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.0.0\n", "stage: old content");
}

static void rerun_completes(struct release *v1, struct release *v2, const char *root,
			    const char *what)
{
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r;
	int rc;

	o.no_run = true;
	o.allow_downgrade = true;
	rc = install(v2, &o, NULL, &err);
	is_int(rc, 0, "%s: rerun completes: %s", what, err.msg);
	r = status(root, NULL);
	ok(r && strcmp(r->version, "1.1.0") == 0, "%s: now 1.1.0", what);
	ap_receipt_free(r);
	is_int(verify(root, NULL, NULL, &err), 0, "%s: 1.1.0 verifies", what);
	/* Back to 1.0.0 for the next scenario. */
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "%s: back to 1.0.0: %s", what, err.msg);
}

static void test_crashes(struct release *v1, struct release *v2)
{
	const char *root = P("%s/rootB", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r;
	struct events ev;
	int rc;

	o.no_run = true;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "crash tests: install 1.0.0: %s", err.msg);

	/* Killed while staging. */
	rc = crash_install(v2, root, "stage", false);
	is_int(rc, 137, "child killed while staging");
	ok(exists(P("%s/opt/.demo.airpack-stage", root)), "a partial stage was left");
	check_intact_old_but_stage(root);
	{
		struct ap_txn_result res = AP_TXN_RESULT_INIT;

		rc = install(v1, &o, &res, &err);
		ok(rc == 0 && res.unchanged,
		   "stage: installing the intact old release does nothing");
		ap_txn_result_release(&res);
		ok(!exists(P("%s/opt/.demo.airpack-stage", root)),
		   "stage: stale stage removed anyway");
	}
	rerun_completes(v1, v2, root, "stage");

	/* Killed after the journal, before the switch. */
	rc = crash_install(v2, root, "before-switch", false);
	is_int(rc, 137, "child killed before the switch");
	ok(exists(P("%s/" AP_STATE_BASE "/demo/txn.json", root)), "journal was left");
	ok(exists(P("%s/" AP_STATE_BASE "/demo/receipt.json.new", root)), "new receipt was left");
	check_intact_old(root, "before-switch");
	rerun_completes(v1, v2, root, "before-switch");

	/* Killed right after the exchange: recovery rolls forward. */
	rc = crash_install(v2, root, "after-exchange", false);
	is_int(rc, 137, "child killed after the exchange");
	is_str(slurp(P("%s/opt/demo/bin/tool", root)), "tool 1.1.0\n", "new tree is live");
	memset(&ev, 0, sizeof(ev));
	o.on_event = on_event;
	o.ctx = &ev;
	rc = ap_txn_verify(&o, NULL, NULL, &err);
	is_int(rc, 0, "after-exchange: verify (after recovery) passes: %s", err.msg);
	r = status(root, NULL);
	ok(r && strcmp(r->version, "1.1.0") == 0, "after-exchange: rolled forward to 1.1.0");
	ap_receipt_free(r);
	ok(!exists(P("%s/opt/.demo.airpack-stage", root)), "after-exchange: old tree removed");
	ok(!exists(P("%s/" AP_STATE_BASE "/demo/txn.json", root)), "after-exchange: journal gone");
	rerun_completes(v1, v2, root, "after-exchange");

	/* The two-rename switch, killed between its renames. */
	rc = crash_install(v2, root, "mid-fallback", true);
	is_int(rc, 137, "child killed between the fallback renames");
	ok(!exists(P("%s/opt/demo", root)), "prefix was parked aside");
	check_intact_old(root, "mid-fallback");
	rerun_completes(v1, v2, root, "mid-fallback");

	/* An install right after a crash recovers first and says so. */
	rc = crash_install(v2, root, "before-switch", false);
	is_int(rc, 137, "child killed before the switch (again)");
	memset(&ev, 0, sizeof(ev));
	{
		struct ap_txn_result res = AP_TXN_RESULT_INIT;

		o.allow_downgrade = true;
		rc = install(v2, &o, &res, &err);
		is_int(rc, 0, "install after a crash: %s", err.msg);
		ok(res.recovered, "result says an interrupted transaction was recovered");
		ok(has_event(&ev, "recover rolled-back opt/demo"), "recovery event");
		ap_txn_result_release(&res);
		rc = install(v1, &o, NULL, &err);
		is_int(rc, 0, "back to 1.0.0: %s", err.msg);
	}

	/* The two-rename switch, complete. */
	rc = crash_install(v2, root, "none", true);
	is_int(rc, 0, "install with the two-rename switch");
	r = status(root, NULL);
	ok(r && strcmp(r->version, "1.1.0") == 0, "two-rename switch installed 1.1.0");
	ap_receipt_free(r);
	ok(!exists(P("%s/opt/.demo.airpack-old", root)), "two-rename switch removed the old tree");
	is_int(verify(root, NULL, NULL, &err), 0, "two-rename switch result verifies");
}

static void test_run_actions(struct release *v1, struct release *exit3, struct release *exit4)
{
	const char *root = P("%s/rootC", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_txn_result res = AP_TXN_RESULT_INIT;
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r;
	size_t n_ran = 99;
	int rc;

	/* An image root (not this host's /) without --run-on-host: pending. */
	{
		struct ap_txn_opts img = opts_for(P("%s/rootC-image", tmp), NULL);

		remove(P("%s/runlog", tmp));
		img.run_in = AP_TXN_RUN_AUTO;
		rc = install(v1, &img, &res, &err);
		is_int(rc, 0, "image root install: %s", err.msg);
		is_int(res.n_pending, 1, "image root: the action is pending");
		is_int(res.n_ran, 0, "image root: nothing ran");
		ap_txn_result_release(&res);
		ok(!exists(P("%s/runlog", tmp)),
		   "image root: the run action did not run on the host");
		rc = install(v1, &img, &res, &err);
		ok(rc == 0 && res.unchanged, "image root: reinstalling with the action pending "
					     "changes nothing");
		ap_txn_result_release(&res);
		ok(!exists(P("%s/runlog", tmp)), "image root: still not run");
	}

	remove(P("%s/runlog", tmp));
	o.no_run = true;
	rc = install(v1, &o, &res, &err);
	is_int(rc, 0, "no_run install: %s", err.msg);
	is_int(res.n_pending, 1, "result counts one pending action");
	is_int(res.n_ran, 0, "nothing ran");
	ap_txn_result_release(&res);
	ok(!exists(P("%s/runlog", tmp)), "the run action did not run");
	r = status(root, NULL);
	ok(r && r->n_pending == 1 && r->n_actions == 0, "receipt lists the action as pending");
	if (r && r->n_pending == 1) {
		is_str(r->pending[0].component, "setup", "pending component");
		is_str(r->pending[0].program, P("opt/demo/%s", SETUP), "pending program");
		ok(r->pending[0].n_args == 3 && strcmp(r->pending[0].args[0], "1.0.0") == 0,
		   "pending args");
		ok(r->pending[0].n_ok_codes == 1 && r->pending[0].ok_codes[0] == 0,
		   "pending ok codes");
	}
	ap_receipt_free(r);

	o.no_run = false;
	o.run_in = AP_TXN_RUN_AUTO;
	rc = ap_txn_firstboot(&o, NULL, &n_ran, &err);
	is_int(rc, AP_E_USAGE, "firstboot in an image root without --run-on-host is refused");
	ok(strstr(err.msg, "--run-in-root") && strstr(err.msg, "--run-on-host"),
	   "and the message names both options: %s", err.msg);
	ok(!exists(P("%s/runlog", tmp)), "the action did not run on the host");
	o.run_in = AP_TXN_RUN_HOST;
	ap_err_clear(&err);
	rc = ap_txn_firstboot(&o, NULL, &n_ran, &err);
	is_int(rc, 0, "firstboot: %s", err.msg);
	is_int(n_ran, 1, "firstboot ran one action");
	n_ran = 99;
	rc = ap_txn_firstboot(&o, NULL, &n_ran, &err);
	is_int(rc, 0, "second firstboot");
	is_int(n_ran, 0, "second firstboot: nothing pending");
	is_int(count_lines(P("%s/runlog", tmp)), 1, "the action ran exactly once");
	r = status(root, NULL);
	ok(r && r->n_pending == 0 && r->n_actions == 1 && r->actions[0].ok &&
		   r->actions[0].exit_code == 0,
	   "receipt records the firstboot result");
	ap_receipt_free(r);

	rc = install(exit3, &o, &res, &err);
	is_int(rc, 0, "exit code 3 with ok codes [0, 3] is ok: %s", err.msg);
	ap_txn_result_release(&res);
	r = status(root, NULL);
	ok(r && r->n_actions == 1 && r->actions[0].exit_code == 3 && r->actions[0].ok,
	   "exit code 3 recorded as ok");
	ap_receipt_free(r);

	rc = install(exit4, &o, &res, &err);
	is_int(rc, AP_E_RUN, "exit code 4 fails the install");
	contains(err.msg, "run action 'setup'", "message names the action");
	contains(err.msg, "exited with 4, expected one of 0, 3", "message names the codes");
	ok(res.new_version && strcmp(res.new_version, "1.0.1") == 0,
	   "result is filled on a run failure");
	ap_txn_result_release(&res);
	r = status(root, NULL);
	ok(r && strcmp(r->version, "1.0.1") == 0, "files of 1.0.1 are installed");
	ok(r && r->n_actions == 1 && r->actions[0].exit_code == 4 && !r->actions[0].ok &&
		   r->n_pending == 0,
	   "the failure is recorded");
	ap_receipt_free(r);
	n_ran = (size_t)count_lines(P("%s/runlog", tmp));
	rc = install(exit4, &o, &res, &err);
	ok(rc == AP_E_RUN && !res.unchanged, "reinstalling after a failed action retries it");
	is_int(count_lines(P("%s/runlog", tmp)), (int)n_ran + 1, "the failed action ran again");
	ap_txn_result_release(&res);
}

static void test_uninstall(struct release *v1)
{
	const char *root = P("%s/rootD", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_txn_uninstall_stats us;
	struct ap_err err = AP_ERR_INIT;
	const char *extra[] = { "etc/demo.yaml", NULL };
	struct events ev;
	int rc;

	o.no_run = true;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "uninstall: install: %s", err.msg);
	mkdirs(P("%s/var/lib/demo-data/sub", root));
	write_file(P("%s/var/lib/demo-data/sub/f", root), "x\n", 0644);
	mkdirs(P("%s/etc", root));
	write_file(P("%s/etc/demo.yaml", root), "cfg\n", 0644);
	write_file(P("%s/opt/demo/share/user.txt", root), "mine\n", 0644);
	write_file(P("%s/opt/demo/etc/app.conf", root), "edited\n", 0640);
	memset(&ev, 0, sizeof(ev));
	o.on_event = on_event;
	o.ctx = &ev;
	rc = ap_txn_uninstall(&o, NULL, false, NULL, &us, &err);
	is_int(rc, 0, "uninstall: %s", err.msg);
	ok(us.was_installed, "it was installed");
	is_int(us.n_removed, 5, "every receipt file removed");
	is_int(us.n_modified, 1, "one had been modified");
	is_int(us.n_left, 1, "one user file left");
	ok(has_event(&ev, "remove left opt/demo/share/user.txt"), "the user file is reported");
	ok(has_event(&ev, "remove modified opt/demo/etc/app.conf"), "the edited file is reported");
	ok(!exists(P("%s/opt/demo/bin", root)), "emptied release folder removed");
	ok(!exists(P("%s/opt/demo/etc/app.conf", root)), "modified file removed anyway");
	is_str(slurp(P("%s/opt/demo/share/user.txt", root)), "mine\n", "user file kept");
	ok(exists(P("%s/var/lib/demo-data/sub/f", root)), "data dir kept without purge");
	ok(!exists(P("%s/" AP_STATE_BASE "/demo", root)), "state folder removed");
	rc = ap_txn_uninstall(&o, "demo", false, NULL, &us, &err);
	ok(rc == 0 && !us.was_installed, "uninstall again is a no-op");

	tu_rm_rf(P("%s/opt", root));
	/* The data folder the first install's product wrote is still there:
	 * to this install it existed before, so purge keeps it. */
	o.on_event = NULL;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "reinstall over kept data: %s", err.msg);
	contains(slurp(P("%s/" AP_STATE_BASE "/demo/receipt.json", root)),
		 "\"created_data_dirs\": []", "a folder that existed is not recorded as created");
	memset(&ev, 0, sizeof(ev));
	o.on_event = on_event;
	o.ctx = &ev;
	rc = ap_txn_uninstall(&o, NULL, true, NULL, &us, &err);
	is_int(rc, 0, "uninstall --purge over data it did not create: %s", err.msg);
	is_int(us.n_purged, 0, "no data folder purged");
	is_int(us.n_data_kept, 1, "one data folder kept");
	ok(has_event(&ev, "remove left var/lib/demo-data"), "the kept folder is reported");
	ok(exists(P("%s/var/lib/demo-data/sub/f", root)), "the data that existed is kept");

	tu_rm_rf(P("%s/var/lib/demo-data", root));
	tu_rm_rf(P("%s/opt", root));
	o.on_event = NULL;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "reinstall for purge: %s", err.msg);
	contains(slurp(P("%s/" AP_STATE_BASE "/demo/receipt.json", root)),
		 "\"created_data_dirs\": [\n    \"var/lib/demo-data\"\n  ]",
		 "the receipt records the data folder as created");
	mkdirs(P("%s/var/lib/demo-data/sub", root));
	write_file(P("%s/var/lib/demo-data/sub/f", root), "x\n", 0644);
	write_file(P("%s/etc/demo.yaml", root), "cfg\n", 0644);
	rc = ap_txn_uninstall(&o, NULL, true, extra, &us, &err);
	is_int(rc, 0, "uninstall --purge: %s", err.msg);
	is_int(us.n_purged, 1, "one data dir purged");
	ok(!exists(P("%s/var/lib/demo-data", root)), "data dir removed");
	ok(!exists(P("%s/etc/demo.yaml", root)), "extra path removed");
	ok(!exists(P("%s/opt", root)), "folders the install created are gone");
	ok(!exists(P("%s/" AP_STATE_BASE "/demo", root)), "the product's state folder is gone");
	ok(exists(P("%s/" AP_STATE_TRUST_DIR "/versions.json", root)),
	   "the device's version record stays (freshness.h)");
}

/* Drop the created_data_dirs record from root's receipt of product, as an
 * older airpack-setup wrote it. */
static void drop_record(const char *root, const char *product)
{
	const char *path = P("%s/" AP_STATE_BASE "/%s/receipt.json", root, product);
	char text[8192];
	char *at, *end;

	snprintf(text, sizeof(text), "%s", slurp(path));
	at = strstr(text, "  \"created_data_dirs\"");
	end = at ? strstr(at, "],\n") : NULL;
	if (!at || !end) {
		ok(false, "receipt has a created_data_dirs record to drop");
		return;
	}
	memmove(at, end + 3, strlen(end + 3) + 1);
	write_file(path, text, 0644);
}

static void test_data_record(struct release *v1, struct release *other)
{
	const char *root = P("%s/rootData", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_txn_uninstall_stats us;
	struct ap_err err = AP_ERR_INIT;
	struct events ev;
	int rc;

	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "data record: install: %s", err.msg);
	mkdirs(P("%s/var/lib/demo-data", root));
	write_file(P("%s/var/lib/demo-data/db", root), "data\n", 0644);
	drop_record(root, "demo");
	memset(&ev, 0, sizeof(ev));
	o.on_event = on_event;
	o.ctx = &ev;
	rc = ap_txn_uninstall(&o, NULL, true, NULL, &us, &err);
	is_int(rc, 0, "purge with a receipt from before the record: %s", err.msg);
	is_int(us.n_purged, 0, "purges no data folder");
	is_int(us.n_data_kept, 1, "and counts the one it kept");
	ok(has_event(&ev, "remove left var/lib/demo-data"), "reported as left");
	ok(has_detail(&ev, "older airpack-setup"), "saying why");
	ok(exists(P("%s/var/lib/demo-data/db", root)), "the data is still there");
	tu_rm_rf(P("%s/var/lib/demo-data", root));

	/* Another product's receipt naming the same folder keeps it. */
	o.on_event = NULL;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "data record: reinstall: %s", err.msg);
	rc = install(other, &o, NULL, &err);
	is_int(rc, 0, "data record: other product: %s", err.msg);
	mkdirs(P("%s/var/lib/demo-data", root));
	write_file(P("%s/var/lib/demo-data/db", root), "data\n", 0644);
	{
		/* The other product's receipt now claims demo's folder too (as a
		 * receipt written before the install-time check could). */
		const char *path = P("%s/" AP_STATE_BASE "/other/receipt.json", root);
		char text[8192];
		char *at;

		snprintf(text, sizeof(text), "%s", slurp(path));
		at = strstr(text, "\"var/lib/other-data\"\n  ],\n  \"dirs\"");
		if (at) {
			char rest[8192];

			snprintf(rest, sizeof(rest), "%s", at + strlen("\"var/lib/other-data\""));
			snprintf(at, sizeof(text) - (size_t)(at - text),
				 "\"var/lib/other-data\",\n    \"var/lib/demo-data/shared\"%s",
				 rest);
			write_file(path, text, 0644);
		}
		ok(at != NULL, "the other receipt was edited");
	}
	memset(&ev, 0, sizeof(ev));
	o.on_event = on_event;
	o.ctx = &ev;
	rc = ap_txn_uninstall(&o, "demo", true, NULL, &us, &err);
	is_int(rc, 0, "purge next to another product: %s", err.msg);
	is_int(us.n_purged, 0, "purges nothing another product's receipt names");
	ok(has_detail(&ev, "installed 'other'"), "names the other product");
	ok(exists(P("%s/var/lib/demo-data/db", root)), "the shared data is still there");
	o.on_event = NULL;
	rc = ap_txn_uninstall(&o, "other", true, NULL, &us, &err);
	is_int(rc, 0, "uninstall the other product: %s", err.msg);
}

static void test_products(struct release *v1, struct release *other)
{
	const char *root = P("%s/rootG", tmp);
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc;

	rc = ap_txn_status(root, NULL, &r, &err);
	is_int(rc, AP_E_NOTFOUND, "status with nothing installed");
	contains(err.msg, "no product is installed", "message says so");
	o.no_run = true;
	install(v1, &o, NULL, &err);
	rc = install_from(other, false, get_payload, &other->pl, &o, NULL, &err);
	is_int(rc, 0, "second product installs: %s", err.msg);
	rc = ap_txn_list_products(root, &names, &n, &err);
	ok(rc == 0 && n == 2 && strcmp(names[0], "demo") == 0 && strcmp(names[1], "other") == 0,
	   "both products listed");
	ap_fsx_strv_free(names, 0);
	rc = ap_txn_status(root, NULL, &r, &err);
	is_int(rc, AP_E_USAGE, "status needs a product name when several are installed");
	contains(err.msg, "(demo, other)", "message lists them");
	rc = ap_txn_status(root, "other", &r, &err);
	ok(rc == 0 && r && strcmp(r->product, "other") == 0, "status of a named product");
	ap_receipt_free(r);
}

static void test_images(struct release *v1)
{
	const char *a = P("%s/imgA", tmp);
	const char *b = P("%s/imgB", tmp);
	struct ap_txn_opts o = opts_for(a, NULL);
	struct ap_err err = AP_ERR_INIT;
	char *la, *lb;
	int rc;

	o.no_run = true;
	o.mtime = IMAGE_MTIME;
	remove(P("%s/runlog", tmp));
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "image A: %s", err.msg);
	/* so a time taken from the clock would differ */
#ifdef _WIN32
	Sleep(1000);
#else
	sleep(1);
#endif
	o.root = b;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "image B: %s", err.msg);
	la = tree_listing(a);
	lb = tree_listing(b);
	ok(la && lb && strlen(la) > 200, "trees listed");
	is_str(la, lb, "two image roots are identical (paths, modes, sizes, sha256, mtimes)");
	if (tu_has_modes()) {
		contains(la, "f opt/demo/bin/tool 0755", "listing holds the tool");
		contains(la, P("opt/demo/%s 0755", SETUP), "listing holds the run payload");
	} else {
		contains(la, "f opt/demo/bin/tool ", "listing holds the tool (no modes here)");
		contains(la, P("f opt/demo/%s ", SETUP), "listing holds the run payload");
	}
	contains(la, P(" %d\n", IMAGE_MTIME), "files carry the fixed time");
	free(la);
	free(lb);
#ifdef _WIN32
	skip("diff -r of the two image roots: no diff program on Windows");
#else
	rc = system(P("diff -r %s %s >/dev/null", a, b));
	is_int(rc, 0, "diff -r finds no difference");
#endif
	ok(!exists(P("%s/runlog", tmp)), "no action ran in the image");
}

/* Payloads marked movable (airpack's own verified copies, as a bundle
 * install unpacks them) are renamed into the stage, not copied, and the
 * result is the same as from copies. */
static void test_movable(struct release *v1, struct release *v2)
{
	char root[512];
	struct ap_txn_opts o;
	struct ap_txn_verify_stats st;
	struct ap_err err = AP_ERR_INIT;
	struct ap_receipt *r;
	struct moving mv;
	struct events ev;
	char hex[AP_SHA256_HEX];
	char *la, *lm;
	int rc;

	/* P's buffers are reused: the root the options point to is kept here */
	snprintf(root, sizeof(root), "%s/imgM", tmp);
	o = opts_for(root, NULL);
	is_int(v1->pl.movable_on_entry + v2->pl.movable_on_entry, 0,
	       "every get_payload call found movable false on entry");

	/* As test_images' imgA, from movable copies. */
	memset(&ev, 0, sizeof(ev));
	o.on_event = on_event;
	o.ctx = &ev;
	o.no_run = true;
	o.mtime = IMAGE_MTIME;
	moving_copies(&mv, v1, P("%s/work-m", tmp));
	rc = install_from(v1, true, moving_payload, &mv, &o, NULL, &err);
	is_int(rc, 0, "install from movable copies: %s", err.msg);
	is_int(mv.calls, 3, "each movable payload asked for once");
	ok(exists(P("%s/work-m/app.tar.gz", tmp)), "the extract payload was read, not moved");
	ok(!exists(P("%s/work-m/app.conf", tmp)), "the copy payload was moved into place");
	ok(!exists(P("%s/work-m/%s", tmp, SETUP)), "the run payload was moved into place");
	is_str(slurp(P("%s/opt/demo/etc/app.conf", root)), "key = value\n", "moved file content");
	is_mode(mode_of(P("%s/opt/demo/etc/app.conf", root)), 0640, "moved file got its mode");
	is_mode(mode_of(P("%s/opt/demo/%s", root, SETUP)), 0755, "moved run payload executable");
	sha_of(v1->pl.conf, hex, NULL);
	ok(has_event(&ev, P("file ok opt/demo/etc/app.conf %s", hex)),
	   "file event with the payload's sha256");
	is_int(count_events(&ev, "check ok opt/"), 0, "no re-hash event for moved payloads");
	ok(has_event(&ev, "check ok app.tar.gz"), "the extracted archive's check event");
	la = tree_listing(P("%s/imgA", tmp));
	lm = tree_listing(root);
	ok(la && lm && strlen(la) > 200, "trees listed");
	is_str(lm, la, "moved and copied payloads give identical roots (modes, sha256, mtimes)");
	free(la);
	free(lm);
	rc = verify(root, &st, NULL, &err);
	is_int(rc, 0, "verify passes on moved payloads: %s", err.msg);
	is_int(st.n_checked, 5, "verify checked five files");
	tu_rm_rf(P("%s/work-m", tmp));

	/* Something else wrote to the private folder: a size that differs
	 * fails the install and leaves the previous one. */
	moving_copies(&mv, v2, P("%s/work-b", tmp));
	write_file(P("%s/work-b/app.conf", tmp), "key = other value\n", 0600);
	rc = install_from(v2, true, moving_payload, &mv, &o, NULL, &err);
	is_int(rc, AP_E_DIGEST, "a moved payload of another size fails the install");
	contains(err.msg,
		 "installing 'conf': payload read to install it differs from the signed manifest",
		 "the message names the component");
	contains(err.msg, "is 18 bytes, expected 12", "and both sizes");
	ok(!exists(P("%s/opt/.demo.airpack-stage", root)), "no stage left");
	r = status(root, NULL);
	ok(r && strcmp(r->version, "1.0.0") == 0, "the previous release is still installed");
	ap_receipt_free(r);
	is_str(slurp(P("%s/opt/demo/etc/app.conf", root)), "key = value\n",
	       "and its copy file is intact");
	tu_rm_rf(P("%s/work-b", tmp));

#ifdef _WIN32
	skip("a movable payload on another file system: no second file system here");
#else
	{
		char tmpl[] = "/dev/shm/ap-txn-xdev-XXXXXX";
		struct ap_file_id a, b;
		char *xdev = mkdtemp(tmpl);

		if (!xdev || ap_fsx_file_id(xdev, &a, NULL) != 0 ||
		    ap_fsx_file_id(tmp, &b, NULL) != 0 || a.dev == b.dev) {
			skip("a movable payload on another file system: /dev/shm is not one");
		} else {
			ap_err_clear(&err);
			snprintf(root, sizeof(root), "%s/rootX", tmp);
			o = opts_for(root, &ev);
			o.no_run = true;
			memset(&ev, 0, sizeof(ev));
			moving_copies(&mv, v1, xdev);
			rc = install_from(v1, true, moving_payload, &mv, &o, NULL, &err);
			is_int(rc, 0, "movable payloads on another file system: %s", err.msg);
			ok(exists(P("%s/app.conf", xdev)) && exists(P("%s/%s", xdev, SETUP)),
			   "they could not be renamed and were copied");
			ok(has_event(&ev, "check ok opt/demo/etc/app.conf"),
			   "and re-hashed while copied");
			is_str(slurp(P("%s/opt/demo/etc/app.conf", root)), "key = value\n",
			       "copied file content");
			is_mode(mode_of(P("%s/opt/demo/etc/app.conf", root)), 0640,
				"copied file mode");
			rc = verify(root, &st, NULL, &err);
			is_int(rc, 0, "verify passes: %s", err.msg);
		}
		if (xdev)
			tu_rm_rf(xdev);
	}
#endif
}

/* The app tarball, by tar on POSIX and by testarc.h on Windows. */
#ifndef _WIN32
/* Replace root/rel (a folder) by a symlink to out, a copy of it with one
 * more file (sentinel): the same files with the same bytes, so only where
 * they are can tell them apart. */
static void plant_symlink(const char *root, const char *rel, const char *out)
{
	run(P("rm -rf '%s' && mkdir -p '%s' && cp -a '%s/%s/.' '%s/' && echo keep > '%s/sentinel'",
	      out, out, root, rel, out, out));
	run(P("rm -rf '%s/%s' && ln -s '%s' '%s/%s'", root, rel, out, root, rel));
}

/* A symlink planted inside a root, in place of a folder of the prefix or
 * above it, is never followed: verify, uninstall, upgrade and install
 * refuse with AP_E_UNSAFE naming it, and nothing outside the root is read
 * as installed, changed or removed (docs/threat-model.md). */
static void test_symlinked_parents(struct release *v1, struct release *v2)
{
	const char *root = P("%s/rootS", tmp);
	char out[512], fresh[512], out2[512];
	struct ap_txn_opts o = opts_for(root, NULL);
	struct ap_txn_uninstall_stats us;
	struct ap_err err = AP_ERR_INIT;
	char *before, *after;
	int rc;

	snprintf(out, sizeof(out), "%s/outside-etc", tmp);
	snprintf(out2, sizeof(out2), "%s/outside-opt", tmp);
	snprintf(fresh, sizeof(fresh), "%s/rootS2", tmp);
	o.no_run = true;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, 0, "symlinks: install 1.0.0: %s", err.msg);
	plant_symlink(root, "opt/demo/etc", out);
	before = tree_listing(out);

	rc = verify(root, NULL, NULL, &err);
	is_int(rc, AP_E_UNSAFE, "symlinks: verify refuses a symlinked folder in the prefix");
	contains(err.msg, "'opt/demo/etc' under the root", "symlinks: verify names the path");
	contains(err.msg, "is a symlink", "symlinks: and says it is a symlink");

	/* An upgrade swaps the whole prefix: the symlink goes with the old
	 * tree (removed as a link, not followed), the new tree has a folder. */
	err = (struct ap_err)AP_ERR_INIT;
	rc = install(v2, &o, NULL, &err);
	is_int(rc, 0, "symlinks: the upgrade replaces the tree holding the symlink: %s", err.msg);
	{
		struct stat st;

		ok(lstat(P("%s/opt/demo/etc", root), &st) == 0 && S_ISDIR(st.st_mode),
		   "symlinks: after the upgrade the prefix has its own folder there");
	}
	after = tree_listing(out);
	is_str(after, before, "symlinks: the upgrade changed nothing outside the root");
	free(after);
	free(before);
	plant_symlink(root, "opt/demo/etc", out);
	before = tree_listing(out);

	rc = ap_txn_uninstall(&o, NULL, false, NULL, &us, &err);
	is_int(rc, AP_E_UNSAFE, "symlinks: uninstall refuses to remove through a symlinked folder");
	contains(err.msg, "'opt/demo/etc' under the root", "symlinks: uninstall names the path");
	ok(exists(P("%s/app.conf", out)), "symlinks: the file outside the root with the "
					  "installed bytes is not removed");
	after = tree_listing(out);
	is_str(after, before, "symlinks: nothing outside the root changed (names, modes, bytes)");
	free(after);
	ok(exists(P("%s/" AP_STATE_BASE "/demo/receipt.json", root)),
	   "symlinks: the refused uninstall keeps the receipt (it can be rerun)");

	/* Once the symlink is gone, uninstall completes. */
	run(P("rm '%s/opt/demo/etc'", root));
	err = (struct ap_err)AP_ERR_INIT;
	rc = ap_txn_uninstall(&o, NULL, false, NULL, &us, &err);
	is_int(rc, 0, "symlinks: with the symlink removed, uninstall completes: %s", err.msg);
	ok(exists(P("%s/sentinel", out)) && exists(P("%s/app.conf", out)),
	   "symlinks: and the folder outside is still whole");
	free(before);

	/* A fresh install whose prefix's parent is a symlink out of the root:
	 * nothing is staged or installed there. */
	run(P("rm -rf '%s' '%s' && mkdir -p '%s' '%s' && ln -s '%s' '%s/opt'", fresh, out2, fresh,
	      out2, out2, fresh));
	o = opts_for(fresh, NULL);
	o.no_run = true;
	rc = install(v1, &o, NULL, &err);
	is_int(rc, AP_E_UNSAFE, "symlinks: install refuses a symlinked parent of the prefix");
	contains(err.msg, "'opt' under the root", "symlinks: install names the path");
	before = tree_listing(out2);
	is_str(before, "", "symlinks: nothing was created outside the root");
	free(before);
	ok(!exists(P("%s/" AP_STATE_BASE "/demo/receipt.json", fresh)),
	   "symlinks: and nothing is recorded as installed");
}
#endif

static void make_tarball(const char *name, const char *version, bool with_doc, bool with_new)
{
#ifdef _WIN32
	struct tu_arc *a = tu_arc_new(TU_ARC_TGZ);
	const char *tool = P("tool %s\n", version);
	const char *fresh = P("new in %s\n", version);
	int64_t now = ap_fsx_now();

	if (!a) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	tu_arc_dir(a, "bin", 0755, now);
	tu_arc_file(a, "bin/tool", tool, strlen(tool), 0755, now);
	tu_arc_dir(a, "share", 0755, now);
	tu_arc_file(a, "share/readme.txt", "readme\n", 7, 0644, now);
	if (with_doc) {
		tu_arc_dir(a, "share/doc", 0755, now);
		tu_arc_file(a, "share/doc/a.txt", "doc\n", 4, 0644, now);
	}
	if (with_new)
		tu_arc_file(a, "share/new.txt", fresh, strlen(fresh), 0644, now);
	if (tu_arc_write(a, P("%s/payloads/%s", tmp, name)) != 0) {
		printf("Bail out! cannot write %s\n", name);
		exit(1);
	}
#else
	const char *src = P("%s/src-%s", tmp, version);

	mkdirs(P("%s/bin", src));
	mkdirs(P("%s/share", src));
	write_file(P("%s/bin/tool", src), P("tool %s\n", version), 0755);
	write_file(P("%s/share/readme.txt", src), "readme\n", 0644);
	if (with_doc) {
		mkdirs(P("%s/share/doc", src));
		write_file(P("%s/share/doc/a.txt", src), "doc\n", 0644);
	}
	if (with_new)
		write_file(P("%s/share/new.txt", src), P("new in %s\n", version), 0644);
	run(P("tar -czf %s/payloads/%s -C %s bin share", tmp, name, src));
#endif
}

/* The run payload on Windows (this program copied as setup.exe), doing what
 * setup.sh does on POSIX: append "VERSION WORKING-FOLDER" to LOG, exit CODE. */
static int setup_main(int argc, char **argv)
{
	char *cwd = tu_getcwd();
	FILE *fp = NULL;
	int rc;

	if (argc != 4 || !cwd || ap_fsx_fopen(argv[2], "ab", &fp, NULL) != 0) {
		free(cwd);
		return 100;
	}
	fprintf(fp, "%s %s\n", argv[1], cwd);
	rc = fclose(fp) == 0 ? (int)strtol(argv[3], NULL, 10) : 101;
	free(cwd);
	return rc;
}

/* What main does when started as a child: 0 and *code for a child, 1 when
 * this is the test itself. */
static int as_child(int argc, char **argv, int *code)
{
	char *self = NULL;
	bool setup;

	if (ap_fsx_self_exe(&self, NULL) != 0) {
		*code = 102;
		return 0;
	}
	setup = strcmp(ap_fsx_path_basename(self), "setup.exe") == 0;
	free(self);
	if (setup) {
		*code = setup_main(argc, argv);
		return 0;
	}
	if (argc == 11 && strcmp(argv[1], "--crash-child") == 0) {
		struct release r;

		/* root point no_exchange tmp product version tgz exit_code ok_codes */
		snprintf(tmp, sizeof(tmp), "%s", argv[5]);
		make_release(&r, argv[6], argv[7], argv[8], argv[9], argv[10]);
		*code = crash_child(&r, argv[2], argv[3], strcmp(argv[4], "1") == 0);
		free_release(&r);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct release v1, v2, e3, e4, other;
	char *dir;
	int code;

	if (ap_fsx_utf8_args(&argc, &argv, NULL) != 0)
		return 103;
	if (as_child(argc, argv, &code) == 0)
		return code;
	dir = tu_mkdtemp("ap-txn");
	if (!dir || strlen(dir) >= sizeof(tmp)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s", dir);
	free(dir);
	tu_setenv("SOURCE_DATE_EPOCH", EPOCH);
	mkdirs(P("%s/payloads", tmp));
	make_tarball("app-1.0.0.tar.gz", "1.0.0", true, false);
	make_tarball("app-1.1.0.tar.gz", "1.1.0", false, true);
	write_file(P("%s/payloads/app.conf", tmp), "key = value\n", 0644);
#ifdef _WIN32
	{
		char *self = NULL;

		if (ap_fsx_self_exe(&self, NULL) != 0 ||
		    tu_copy(self, P("%s/payloads/%s", tmp, SETUP)) != 0) {
			printf("Bail out! cannot copy this program as %s\n", SETUP);
			return 1;
		}
		free(self);
	}
#else
	write_file(P("%s/payloads/setup.sh", tmp),
		   "#!/bin/sh\necho \"$1 $(pwd)\" >> \"$2\"\nexit \"$3\"\n", 0644);
#endif

	make_release(&v1, "demo", "1.0.0", P("%s/payloads/app-1.0.0.tar.gz", tmp), "0", "[0]");
	make_release(&v2, "demo", "1.1.0", P("%s/payloads/app-1.1.0.tar.gz", tmp), "0", "[0]");
	make_release(&e3, "demo", "1.0.0", P("%s/payloads/app-1.0.0.tar.gz", tmp), "3", "[0, 3]");
	make_release(&e4, "demo", "1.0.1", P("%s/payloads/app-1.0.0.tar.gz", tmp), "4", "[0, 3]");
	make_release(&other, "other", "2.0.0", P("%s/payloads/app-1.0.0.tar.gz", tmp), "0", "[0]");

	test_receipt_format();
	test_install_verify(&v1);
	test_upgrade_downgrade(&v1, &v2);
	test_failures(&v1, &v2);
	/* The crash points are test hooks: a build without them skips. */
	if (ap_testhook_built())
		test_crashes(&v1, &v2);
	else
		skip("crash points: this build has no test hooks (meson -Dtest_hooks=true)");
	test_run_actions(&v1, &e3, &e4);
	test_uninstall(&v1);
	test_products(&v1, &other);
	test_data_record(&v1, &other);
	test_images(&v1);
	test_movable(&v1, &v2);
#ifndef _WIN32
	test_symlinked_parents(&v1, &v2);
#else
	skip("symlinked parents: the symlink test needs POSIX symlinks");
#endif

	free_release(&v1);
	free_release(&v2);
	free_release(&e3);
	free_release(&e4);
	free_release(&other);
	if (!getenv("AP_KEEP_TMP"))
		tu_rm_rf(tmp);
	return tap_done();
}
