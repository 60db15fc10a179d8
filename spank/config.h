/* config.h: the plugin's plugstack.conf arguments. */
#ifndef ACCEL_DATA_CONFIG_H
#define ACCEL_DATA_CONFIG_H

#include <stddef.h>

#define AD_DEFAULT_SOCKET "/run/warmupd/warmupd.sock"
#define AD_DEFAULT_PREFIX "/jfs"
#define AD_DEFAULT_MAX_PATHS 16
#define AD_DEFAULT_TIMEOUT_MS 500
/* Upper bound on the whole --accel-data value, in bytes. */
#define AD_MAX_TOTAL_LEN 16384

struct ad_config {
	char *socket;      /* warmupd's unix socket */
	char *server;      /* warmupd's HOST:PORT over TCP + MUNGE, or NULL (then the socket) */
	char *munge_socket; /* the local munged's socket, or NULL for libmunge's default */
	unsigned server_uid; /* warmupd's uid: the only one that can decode our credentials */
	char **prefixes;   /* allowed path prefixes, normalized, no trailing '/' (except "/") */
	size_t nprefixes;
	size_t max_paths;  /* most paths one submission may name */
	int timeout_ms;    /* hard deadline of the call to warmupd */
	int enabled;       /* 0: the option is accepted and ignored */
};

/*
 * Parses plugstack.conf arguments (key=value) into cfg, defaults first.
 * Keys: socket=, server= (HOST:PORT), munge_socket=, server_uid=, prefix=
 * (colon-separated), max_paths=, timeout_ms=, enabled=.
 * Returns 0, or -1 with a message in err naming the offending argument.
 */
int ad_config_parse(struct ad_config *cfg, int argc, char **argv, char *err, size_t errlen);
void ad_config_free(struct ad_config *cfg);

#endif
