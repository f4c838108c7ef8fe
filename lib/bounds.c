/* bounds.c - what a signed release may name as its own; see airpack/bounds.h. */
#include <stddef.h>
#include <string.h>

#include "airpack/bounds.h"
#include "airpack/state.h"
#include "airpack/winname.h"
#include "airpack/banned.h"

/* The system folders below the top level (every top-level folder is one).
 * A last part "*" stands for any folder directly inside; "lib*" for any
 * whose name starts with "lib".  A configuration file may live in a folder
 * of its own directly inside a "*" entry only when config_ok (etc/<product>/). */
struct sys_dir {
	const char *path;
	bool config_ok;
};

static const struct sys_dir sys_dirs[] = {
	{ "etc/*", true },
	{ "usr/bin", false },
	{ "usr/sbin", false },
	{ "usr/lib*", false },
	{ "usr/libexec", false },
	{ "usr/include", false },
	{ "usr/share", false },
	{ "usr/src", false },
	{ "usr/local", false },
	{ "usr/local/bin", false },
	{ "usr/local/sbin", false },
	{ "usr/local/lib*", false },
	{ "usr/local/share", false },
	{ "usr/local/etc", false },
	{ "usr/local/include", false },
	{ "var/lib", false },
	{ "var/log", false },
	{ "var/cache", false },
	{ "var/tmp", false },
	{ "var/spool", false },
	{ "var/mail", false },
	{ "var/opt", false },
	{ "var/run", false },
	{ "var/lock", false },
	{ "var/local", false },
	{ "var/backups", false },
	{ "var/www", false },
	{ "home/*", false },
	{ "Users/*", false },
	{ "Windows/*", false },
	{ "Program Files/Common Files", false },
	{ "Program Files (x86)/Common Files", false },
	{ "ProgramData/Microsoft", false },
	{ "ProgramData/Package Cache", false },
};
#define N_SYS_DIRS (sizeof(sys_dirs) / sizeof(sys_dirs[0]))

/* The state module owns these paths; the other OS's layout (and Windows'
 * whole ProgramData/airpack, which holds the trust folder) is airpack's
 * too, so an image root prepared on one OS for the other is covered. */
static const char *const airpack_dirs[] = {
	AP_STATE_BASE,	       AP_STATE_LOG_BASE, AP_STATE_CACHE_BASE,
#ifdef _WIN32
	"var/lib/airpack",     "var/log/airpack", "var/cache/airpack",
#endif
	"ProgramData/airpack",
};
#define AIRPACK_DIRS_SAID                                                                          \
	"is, holds or lies in one of airpack's own folders (var/lib/airpack, var/log/airpack, "    \
	"var/cache/airpack, ProgramData/airpack)"
#define N_AIRPACK_DIRS (sizeof(airpack_dirs) / sizeof(airpack_dirs[0]))

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Length of the part at s (up to '/' or the end). */
static size_t part_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash ? (size_t)(slash - s) : strlen(s);
}

static size_t trimmed(const char *s, size_t n)
{
	return ap_winname_trimmed_len(s, n);
}

static bool part_eq(const char *a, size_t na, const char *b, size_t nb)
{
	na = trimmed(a, na);
	nb = trimmed(b, nb);
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* A pattern part: "*", "xyz*" or a plain name. */
static bool part_match(const char *pat, size_t np, const char *s, size_t ns)
{
	if (np == 1 && pat[0] == '*')
		return trimmed(s, ns) > 0;
	if (np > 0 && pat[np - 1] == '*') {
		ns = trimmed(s, ns);
		if (ns < np - 1)
			return false;
		for (size_t i = 0; i + 1 < np; i++)
			if (lower(pat[i]) != lower(s[i]))
				return false;
		return true;
	}
	return part_eq(pat, np, s, ns);
}

/* How many leading parts of a and b agree (*all_a: a ran out first or
 * together, *all_b likewise). */
static void common_parts(const char *a, const char *b, bool *all_a, bool *all_b)
{
	for (;;) {
		size_t na = part_len(a), nb = part_len(b);

		if (!part_eq(a, na, b, nb)) {
			*all_a = *all_b = false;
			return;
		}
		a += na;
		b += nb;
		*all_a = *a == '\0';
		*all_b = *b == '\0';
		if (*all_a || *all_b)
			return;
		a++;
		b++;
	}
}

bool ap_bounds_same(const char *a, const char *b)
{
	bool all_a, all_b;

	common_parts(a, b, &all_a, &all_b);
	return all_a && all_b;
}

bool ap_bounds_within(const char *path, const char *dir)
{
	bool all_p, all_d;

	common_parts(path, dir, &all_p, &all_d);
	return all_d;
}

bool ap_bounds_overlap(const char *a, const char *b)
{
	bool all_a, all_b;

	common_parts(a, b, &all_a, &all_b);
	return all_a || all_b;
}

static bool matches(const char *pat, const char *rel)
{
	for (;;) {
		size_t np = part_len(pat), nr = part_len(rel);

		if (!part_match(pat, np, rel, nr))
			return false;
		pat += np;
		rel += nr;
		if (*pat == '\0' || *rel == '\0')
			return *pat == '\0' && *rel == '\0';
		pat++;
		rel++;
	}
}

static const struct sys_dir *find_sys_dir(const char *rel)
{
	for (size_t i = 0; i < N_SYS_DIRS; i++)
		if (matches(sys_dirs[i].path, rel))
			return &sys_dirs[i];
	return NULL;
}

static bool top_level(const char *rel)
{
	return strchr(rel, '/') == NULL;
}

bool ap_bounds_is_system_dir(const char *rel)
{
	return top_level(rel) || find_sys_dir(rel) != NULL;
}

const char *ap_bounds_airpack_overlap(const char *rel)
{
	for (size_t i = 0; i < N_AIRPACK_DIRS; i++)
		if (ap_bounds_overlap(rel, airpack_dirs[i]))
			return airpack_dirs[i];
	return NULL;
}

const char *ap_bounds_data_dir_problem(const char *rel, const char *prefix)
{
	if (top_level(rel))
		return "is a top-level folder";
	if (find_sys_dir(rel))
		return "is a system folder";
	if (ap_bounds_airpack_overlap(rel))
		return AIRPACK_DIRS_SAID;
	if (prefix && ap_bounds_within(prefix, rel))
		return "is or holds the release's prefix";
	return NULL;
}

const char *ap_bounds_config_path_problem(const char *rel)
{
	const char *slash = strrchr(rel, '/');
	const struct sys_dir *sd;
	char parent[4096];
	size_t n;

	if (ap_bounds_airpack_overlap(rel))
		return AIRPACK_DIRS_SAID;
	if (!slash)
		return "is a file at the top of the root (the configuration goes in a folder "
		       "of its own, like etc/<product>/config.yaml)";
	n = (size_t)(slash - rel);
	if (n >= sizeof(parent))
		return "is too long";
	memcpy(parent, rel, n);
	parent[n] = '\0';
	sd = find_sys_dir(parent);
	if (top_level(parent) || (sd && !sd->config_ok))
		return "is a file directly in a system folder (the configuration goes in a "
		       "folder of its own, like etc/<product>/config.yaml)";
	if (find_sys_dir(rel))
		return "is a system folder";
	return NULL;
}
