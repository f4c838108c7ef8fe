/* standalone.c - run a fuzz target without a fuzzer: every file named on the
 * command line, and every file in every folder named there (sorted by name),
 * is given to LLVMFuzzerTestOneInput once.  A broken invariant aborts, which
 * fails the test.  An argument that names nothing readable, or a run that
 * found no input at all, fails too: an empty corpus tests nothing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define MAX_FILE (8u << 20)

static int run_file(const char *path, size_t *count)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = 0;

	if (!fp) {
		fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(MAX_FILE);
	if (!buf) {
		fclose(fp);
		fprintf(stderr, "out of memory reading '%s'\n", path);
		return -1;
	}
	len = fread(buf, 1, MAX_FILE, fp);
	if (ferror(fp)) {
		fprintf(stderr, "cannot read '%s': %s\n", path, strerror(errno));
		rc = -1;
	} else if (!feof(fp)) {
		fprintf(stderr, "'%s' is bigger than %u bytes\n", path, MAX_FILE);
		rc = -1;
	}
	fclose(fp);
	if (rc == 0) {
		/* An exact-size copy, so ASan sees any read past the input. */
		unsigned char *exact = malloc(len ? len : 1);

		if (!exact) {
			free(buf);
			fprintf(stderr, "out of memory reading '%s'\n", path);
			return -1;
		}
		memcpy(exact, buf, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
		(*count)++;
	}
	free(buf);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "cannot open folder '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *path;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		len = strlen(dir) + strlen(e->d_name) + 2;
		path = malloc(len);
		if (!path) {
			rc = -1;
			break;
		}
		snprintf(path, len, "%s/%s", dir, e->d_name);
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			char **v = realloc(names, ncap * sizeof(*v));

			if (!v) {
				free(path);
				rc = -1;
				break;
			}
			names = v;
			cap = ncap;
		}
		names[n++] = path;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			rc = run_file(names[i], count);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	for (int i = 1; i < argc && rc == 0; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "cannot find '%s': %s\n", argv[i], strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = run_dir(argv[i], &count);
		} else {
			rc = run_file(argv[i], &count);
		}
	}
	if (rc == 0 && count == 0) {
		fprintf(stderr, "no inputs: give corpus folders or files\n");
		rc = -1;
	}
	if (rc == 0)
		printf("%zu inputs ran without a broken invariant\n", count);
	return rc == 0 ? 0 : 1;
}
