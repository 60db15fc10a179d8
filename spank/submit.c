/* submit.c: validation, job-control environment and what the call to warmupd at submission prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "call.h"
#include "json.h"
#include "paths.h"
#include "submit.h"
#include "token.h"

#ifndef AD_VERSION
#define AD_VERSION "devel"
#endif

int ad_submit(spank_t sp, const struct ad_config *cfg, const char *value)
{
	int rv = -1;
	char err[2048];
	char token[AD_TOKEN_HEX + 1];
	struct ad_paths paths = { 0 };
	struct ad_buf body = { 0 }, msg = { 0 };
	char *joined = NULL;

	if (ad_paths_parse(value, cfg, &paths, err, sizeof(err)) != 0 ||
	    ad_paths_check_access(&paths, err, sizeof(err)) != 0) {
		slurm_error("accel-data: %s", err);
		goto fail;
	}
	joined = ad_paths_join(&paths);
	if (joined == NULL || ad_token(token) != 0 || ad_json_request(&body, &paths, token) != 0) {
		/* Not the user's fault: warn and let the job go on without warming. */
		slurm_info("accel-data: warning: cannot prepare the warm-up request (out of memory or no randomness); the job runs without pre-warming");
		rv = 0;
		goto fail;
	}
	if (spank_job_control_setenv(sp, "ACCEL_DATA", joined, 1) != ESPANK_SUCCESS ||
	    spank_job_control_setenv(sp, "ACCEL_TOKEN", token, 1) != ESPANK_SUCCESS) {
		slurm_info("accel-data: warning: cannot set ACCEL_DATA in the job environment; the job runs without pre-warming");
		rv = 0;
		goto fail;
	}

	switch (ad_call(cfg, "/v1/requests", body.data, &msg)) {
	case AD_QUEUED:
		slurm_verbose("accel-data %s: queued %s for warm-up", AD_VERSION, joined);
		break;
	case AD_REFUSED:
		slurm_error("accel-data: %s", msg.data ? msg.data : "warmupd refused the request");
		goto fail;
	case AD_WARNED:
		slurm_info("accel-data: %s", msg.data ? msg.data : "warning: out of memory; the job runs without pre-warming");
		break;
	}
	rv = 0;
fail:
	free(joined);
	ad_paths_free(&paths);
	ad_buf_free(&body);
	ad_buf_free(&msg);
	return rv;
}
