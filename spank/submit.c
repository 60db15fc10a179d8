/* submit.c: validation, job-control environment and the call to warmupd at submission. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "json.h"
#include "paths.h"
#include "submit.h"
#include "token.h"

#ifndef AD_VERSION
#define AD_VERSION "devel"
#endif

/* Reports a 4xx answer from warmupd as the user's error. */
static void report_rejection(int status, const struct ad_buf *resp)
{
	struct ad_buf text = { 0 };

	if (ad_rejection_text(status, resp->data, &text) == 0)
		slurm_error("accel-data: %s", text.data);
	else
		slurm_error("accel-data: warmupd refused the request (HTTP %d)", status);
	ad_buf_free(&text);
}

int ad_submit(spank_t sp, const struct ad_config *cfg, const char *value)
{
	int rv = -1, status;
	char err[2048];
	char token[AD_TOKEN_HEX + 1];
	struct ad_paths paths = { 0 };
	struct ad_buf body = { 0 }, resp = { 0 };
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

	status = ad_http_post(cfg->socket, "/v1/requests", body.data, cfg->timeout_ms, &resp, err, sizeof(err));
	if (status >= 200 && status < 300) {
		slurm_verbose("accel-data %s: queued %s for warm-up", AD_VERSION, joined);
	} else if (status >= 400 && status < 500) {
		report_rejection(status, &resp);
		goto fail;
	} else if (status < 0) {
		slurm_info("accel-data: warning: warmupd did not answer (%s); the job is submitted and its prolog will ask again", err);
	} else {
		slurm_info("accel-data: warning: warmupd answered HTTP %d; the job is submitted and its prolog will ask again", status);
	}
	rv = 0;
fail:
	free(joined);
	ad_paths_free(&paths);
	ad_buf_free(&body);
	ad_buf_free(&resp);
	return rv;
}
