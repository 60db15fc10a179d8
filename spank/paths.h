/* paths.h: parsing and validation of the --accel-data value. */
#ifndef ACCEL_DATA_PATHS_H
#define ACCEL_DATA_PATHS_H

#include <stddef.h>

#include "config.h"
#include "pathrule.h"

struct ad_paths {
	char **v;   /* normalized, deduplicated, in the user's order */
	size_t n;
};

/*
 * Splits a comma-separated --accel-data value, checks every path with the
 * rule of pathrule.h and against cfg (under a prefix, at most
 * cfg->max_paths, total length bounded). Returns 0, or -1 with a one-line
 * message for the user in err that names the path (shortened if long).
 */
int ad_paths_parse(const char *value, const struct ad_config *cfg, struct ad_paths *out,
		   char *err, size_t errlen);

/*
 * Checks the calling user can read every path (directories also need
 * search permission). Returns 0, or -1 with a message in err naming the path.
 */
int ad_paths_check_access(const struct ad_paths *p, char *err, size_t errlen);

/* Joins the paths with ',' into a malloc'd string (NULL when out of memory). */
char *ad_paths_join(const struct ad_paths *p);

void ad_paths_free(struct ad_paths *p);

#endif
