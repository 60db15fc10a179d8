/* config.c: plugstack.conf arguments into struct ad_config (defaults, then key=value). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "paths.h"

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void free_prefixes(struct ad_config *cfg)
{
	for (size_t i = 0; i < cfg->nprefixes; i++)
		free(cfg->prefixes[i]);
	free(cfg->prefixes);
	cfg->prefixes = NULL;
	cfg->nprefixes = 0;
}

/* Replaces *dst with a copy of s. */
static int set_string(char **dst, const char *s, char *err, size_t errlen)
{
	char *c = strdup(s);

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = c;
	return 0;
}

static int set_prefixes(struct ad_config *cfg, const char *list, char *err, size_t errlen)
{
	int rv = -1;
	char *copy = strdup(list);
	char *save = NULL, *tok;

	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	free_prefixes(cfg);
	for (tok = strtok_r(copy, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save)) {
		char **p;
		char *norm = NULL;

		if (ad_path_normalize(tok, &norm) != 0) {
			snprintf(err, errlen, "prefix=%s: each prefix must be an absolute path without '..'", tok);
			goto fail;
		}
		p = realloc(cfg->prefixes, (cfg->nprefixes + 1) * sizeof(*p));
		if (p == NULL) {
			free(norm);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		cfg->prefixes = p;
		cfg->prefixes[cfg->nprefixes++] = norm;
	}
	if (cfg->nprefixes == 0) {
		snprintf(err, errlen, "prefix= needs at least one absolute path (e.g. prefix=/jfs)");
		goto fail;
	}
	rv = 0;
fail:
	free(copy);
	return rv;
}

int ad_config_parse(struct ad_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int rv = -1;
	long v;

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_paths = AD_DEFAULT_MAX_PATHS;
	cfg->timeout_ms = AD_DEFAULT_TIMEOUT_MS;
	cfg->enabled = 1;
	cfg->socket = strdup(AD_DEFAULT_SOCKET);
	if (cfg->socket == NULL || set_prefixes(cfg, AD_DEFAULT_PREFIX, err, errlen) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "socket=", 7) == 0) {
			if (a[7] != '/') {
				snprintf(err, errlen, "socket=%s: must be an absolute path", a + 7);
				goto fail;
			}
			if (set_string(&cfg->socket, a + 7, err, errlen) != 0)
				goto fail;
		} else if (strncmp(a, "server=", 7) == 0) {
			char host[AD_MAX_HOST], port[6];

			if (ad_split_hostport(a + 7, host, port) != 0) {
				snprintf(err, errlen, "server=%s: expected HOST:PORT of warmupd (e.g. server=svc1:7390)", a + 7);
				goto fail;
			}
			if (set_string(&cfg->server, a + 7, err, errlen) != 0)
				goto fail;
		} else if (strncmp(a, "munge_socket=", 13) == 0) {
			if (a[13] != '/') {
				snprintf(err, errlen, "munge_socket=%s: must be an absolute path", a + 13);
				goto fail;
			}
			if (set_string(&cfg->munge_socket, a + 13, err, errlen) != 0)
				goto fail;
		} else if (strncmp(a, "server_uid=", 11) == 0) {
			if (parse_long(a + 11, 0, 4294967294L, &v) != 0) {
				snprintf(err, errlen, "server_uid=%s: expected warmupd's numeric uid (0 for root)", a + 11);
				goto fail;
			}
			cfg->server_uid = (unsigned)v;
		} else if (strncmp(a, "prefix=", 7) == 0) {
			if (set_prefixes(cfg, a + 7, err, errlen) != 0)
				goto fail;
		} else if (strncmp(a, "max_paths=", 10) == 0) {
			if (parse_long(a + 10, 1, 1024, &v) != 0) {
				snprintf(err, errlen, "max_paths=%s: expected a number from 1 to 1024", a + 10);
				goto fail;
			}
			cfg->max_paths = (size_t)v;
		} else if (strncmp(a, "timeout_ms=", 11) == 0) {
			if (parse_long(a + 11, 1, 60000, &v) != 0) {
				snprintf(err, errlen, "timeout_ms=%s: expected milliseconds from 1 to 60000", a + 11);
				goto fail;
			}
			cfg->timeout_ms = (int)v;
		} else if (strncmp(a, "enabled=", 8) == 0) {
			const char *s = a + 8;

			if (strcmp(s, "1") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "true") == 0)
				cfg->enabled = 1;
			else if (strcmp(s, "0") == 0 || strcmp(s, "no") == 0 || strcmp(s, "false") == 0)
				cfg->enabled = 0;
			else {
				snprintf(err, errlen, "enabled=%s: expected 1/0, yes/no or true/false", s);
				goto fail;
			}
		} else {
			snprintf(err, errlen,
				 "unknown plugstack.conf argument '%s' (known: socket=, server=, munge_socket=, server_uid=, prefix=, max_paths=, timeout_ms=, enabled=)",
				 a);
			goto fail;
		}
	}
	rv = 0;
fail:
	return rv;
}

void ad_config_free(struct ad_config *cfg)
{
	free(cfg->socket);
	free(cfg->server);
	free(cfg->munge_socket);
	cfg->socket = cfg->server = cfg->munge_socket = NULL;
	free_prefixes(cfg);
}
