/* call.c: the request to warmupd and what its answer means for the submission (see call.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "call.h"
#include "cred.h"
#include "http.h"
#include "json.h"

/* What the user is told when there is no warm-up now. */
#define AD_GOES_ON "; the job is submitted and its prolog will ask again"

/* Appends at most 300 bytes of s with control characters as '?': an unverified server wrote it. */
static int put_untrusted(struct ad_buf *msg, const char *s)
{
	for (size_t i = 0; s[i] != '\0' && i < 300; i++)
		if (ad_buf_putc(msg, ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i]) != 0)
			return -1;
	return 0;
}

/* Makes the Authorization header for the request into hdr. Returns 0, or -1 with the warning in msg. */
static int authorize(const struct ad_config *cfg, struct ad_auth *a, const char *uri, const char *body,
		     long long deadline, struct ad_buf *hdr, struct ad_buf *msg)
{
	struct ad_buf payload = { 0 };
	char err[1024];
	char *cred = NULL;
	int rv = -1;

	if (ad_auth_new(a) != 0 || ad_auth_payload(&payload, a, "POST", uri, body, strlen(body)) != 0) {
		ad_buf_puts(msg, "warning: cannot prepare the warm-up request (out of memory or no randomness)" AD_GOES_ON);
		goto fail;
	}
	if (ad_munge_encode(&payload, cfg->munge_socket, (uid_t)cfg->server_uid, deadline, &cred, err, sizeof(err)) != 0) {
		ad_buf_puts(msg, "cannot make a MUNGE credential (munged not running on this host?): ");
		ad_buf_puts(msg, err);
		ad_buf_puts(msg, "; the job is submitted without warm-up");
		goto fail;
	}
	if (ad_buf_puts(hdr, "Authorization: MUNGE ") != 0 || ad_buf_puts(hdr, cred) != 0 || ad_buf_puts(hdr, "\r\n") != 0) {
		ad_buf_puts(msg, "warning: out of memory" AD_GOES_ON);
		goto fail;
	}
	rv = 0;
fail:
	free(cred);
	ad_buf_free(&payload);
	return rv;
}

enum ad_outcome ad_call(const struct ad_config *cfg, const char *uri, const char *body, struct ad_buf *msg)
{
	enum ad_outcome rv = AD_WARNED;
	struct ad_http_req req = { .socket = cfg->socket, .server = cfg->server, .method = "POST", .uri = uri,
				   .body = body, .body_len = strlen(body), .timeout_ms = cfg->timeout_ms };
	struct ad_http_resp resp = { 0 };
	struct ad_buf hdr = { 0 }, text = { 0 };
	struct ad_auth a;
	char err[2048], line[128];
	int status;

	msg->len = 0;
	if (cfg->server != NULL) {
		/* One deadline for the credential and the exchange: the exchange gets what is left. */
		long long start = ad_now_ms();

		if (authorize(cfg, &a, uri, body, start + cfg->timeout_ms, &hdr, msg) != 0)
			goto done;
		req.headers = hdr.data;
		req.deadline = start + cfg->timeout_ms;
	}
	status = ad_http_do(&req, &resp, err, sizeof(err));
	if (status < 0) {
		ad_buf_puts(msg, "warning: warmupd did not answer (");
		ad_buf_puts(msg, err);
		ad_buf_puts(msg, ")" AD_GOES_ON);
		goto done;
	}
	if (cfg->server != NULL && status == 401) {
		/* No proof comes with a 401: whoever answered could not read the credential. */
		ad_buf_puts(msg, "warning: warmupd (unverified) refused the credential: ");
		if (ad_json_get_string(resp.body.data, "error", &text) == 0)
			put_untrusted(msg, text.data);
		else
			ad_buf_puts(msg, "HTTP 401");
		ad_buf_puts(msg, AD_GOES_ON);
		goto done;
	}
	if (cfg->server != NULL && !ad_auth_proof_ok(&a, status, resp.body.data, resp.body.len, resp.proof.data)) {
		ad_buf_puts(msg, "warning: the server at ");
		ad_buf_puts(msg, cfg->server);
		ad_buf_puts(msg, " did not prove it is warmupd (wrong MUNGE key, or another program on the port)" AD_GOES_ON);
		goto done;
	}
	if (status >= 200 && status < 300) {
		rv = AD_QUEUED;
	} else if (status >= 400 && status < 500) {
		if (ad_rejection_text(status, resp.body.data, &text) == 0)
			ad_buf_puts(msg, text.data);
		else
			ad_buf_puts(msg, "warmupd refused the request");
		rv = AD_REFUSED;
	} else {
		snprintf(line, sizeof(line), "warning: warmupd answered HTTP %d" AD_GOES_ON, status);
		ad_buf_puts(msg, line);
	}
done:
	ad_http_resp_free(&resp);
	ad_buf_free(&hdr);
	ad_buf_free(&text);
	return rv;
}
