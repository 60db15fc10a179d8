/* submit.h: what the plugin does at submission (allocator and srun contexts). */
#ifndef ACCEL_DATA_SUBMIT_H
#define ACCEL_DATA_SUBMIT_H

#include <slurm/spank.h>

#include "config.h"

/*
 * Validates value, sets ACCEL_DATA and ACCEL_TOKEN in the job-control
 * environment and queues the paths with warmupd. Returns non-zero only for
 * the user's own bad input; a slow or absent warmupd is one warning line.
 */
int ad_submit(spank_t sp, const struct ad_config *cfg, const char *value);

#endif
