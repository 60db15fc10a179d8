/* paths.c: parsing and validation of the --accel-data value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "pathrule.h"
#include "paths.h"

static int under_prefix(const char *path, const struct ad_config *cfg)
{
	for (size_t i = 0; i < cfg->nprefixes; i++) {
		const char *pre = cfg->prefixes[i];
		size_t n = strlen(pre);

		if (strcmp(pre, "/") == 0)
			return 1;
		if (strncmp(path, pre, n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

static void prefix_list(const struct ad_config *cfg, char *dst, size_t len)
{
	size_t off = 0;

	dst[0] = '\0';
	for (size_t i = 0; i < cfg->nprefixes && off + 1 < len; i++) {
		int k = snprintf(dst + off, len - off, "%s%s", i ? ":" : "", cfg->prefixes[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static int contains(const struct ad_paths *p, const char *s)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i], s) == 0)
			return 1;
	return 0;
}

int ad_paths_parse(const char *value, const struct ad_config *cfg, struct ad_paths *out,
		   char *err, size_t errlen)
{
	int rv = -1;
	const char *p = value;
	char shown[AD_SHOW_BUF];
	char prefixes[512];

	memset(out, 0, sizeof(*out));
	if (value == NULL || value[0] == '\0') {
		snprintf(err, errlen, "--accel-data is empty: name at least one path, e.g. --accel-data=%s/mydataset",
			 cfg->nprefixes ? cfg->prefixes[0] : "/jfs");
		goto fail;
	}
	if (strlen(value) > AD_MAX_TOTAL_LEN) {
		snprintf(err, errlen, "--accel-data is %zu bytes long, the limit is %d: name fewer or shorter paths",
			 strlen(value), AD_MAX_TOTAL_LEN);
		goto fail;
	}
	prefix_list(cfg, prefixes, sizeof(prefixes));
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *norm = NULL;
		char **grown;

		if (n == 0) {
			snprintf(err, errlen, "--accel-data has an empty path (check for a doubled or trailing ',')");
			goto fail;
		}
		if (ad_path_check(p, n, &norm, err, errlen) != 0)
			goto fail;
		ad_path_show(p, n, shown);
		if (!under_prefix(norm, cfg)) {
			snprintf(err, errlen, "%s: not under an accel-data mount (allowed: %s)", shown, prefixes);
			free(norm);
			goto fail;
		}
		if (contains(out, norm)) {
			free(norm);
		} else if (out->n + 1 > cfg->max_paths) {
			/* Counted after removing duplicates: a repeated --accel-data names a path twice. */
			free(norm);
			snprintf(err, errlen, "--accel-data names more than %zu paths: name at most %zu (a parent directory covers its children)",
				 cfg->max_paths, cfg->max_paths);
			goto fail;
		} else {
			grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
			if (grown == NULL) {
				free(norm);
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			out->v = grown;
			out->v[out->n++] = norm;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	rv = 0;
fail:
	if (rv != 0)
		ad_paths_free(out);
	return rv;
}

int ad_paths_check_access(const struct ad_paths *p, char *err, size_t errlen)
{
	int rv = -1;
	char shown[AD_SHOW_BUF];

	for (size_t i = 0; i < p->n; i++) {
		struct stat st;
		int mode = R_OK;

		ad_path_show(p->v[i], strlen(p->v[i]), shown);
		if (stat(p->v[i], &st) != 0) {
			int e = errno;

			snprintf(err, errlen, "%s: %s (%s)", shown, strerror(e),
				 e == EACCES ? "you must be able to read it to warm it"
					     : "check the path exists and is on the JuiceFS mount");
			goto fail;
		}
		if (S_ISDIR(st.st_mode))
			mode |= X_OK;
		if (access(p->v[i], mode) != 0) {
			snprintf(err, errlen, "%s: %s (you must be able to read it to warm it)", shown, strerror(errno));
			goto fail;
		}
	}
	rv = 0;
fail:
	return rv;
}

char *ad_paths_join(const struct ad_paths *p)
{
	struct ad_buf b = { 0 };

	for (size_t i = 0; i < p->n; i++) {
		if ((i && ad_buf_putc(&b, ',') != 0) || ad_buf_puts(&b, p->v[i]) != 0) {
			ad_buf_free(&b);
			return NULL;
		}
	}
	if (b.data == NULL && ad_buf_append(&b, "", 0) != 0)
		return NULL;
	return b.data;
}

void ad_paths_free(struct ad_paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
