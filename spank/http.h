/* http.h: one bounded HTTP/1.1 request to warmupd, over its unix socket or over TCP. */
#ifndef ACCEL_DATA_HTTP_H
#define ACCEL_DATA_HTTP_H

#include <stddef.h>

#include "buf.h"

/* Longest host of a server=HOST:PORT argument. */
#define AD_MAX_HOST 256

struct ad_http_req {
	const char *socket;  /* warmupd's unix socket; used when server is NULL */
	const char *server;  /* "HOST:PORT" (or "[V6ADDR]:PORT") to reach over TCP, or NULL */
	const char *method;  /* "POST" */
	const char *uri;     /* the request URI, e.g. "/v1/requests" */
	const char *headers; /* extra header lines, each ending in "\r\n", or NULL */
	const char *body;    /* JSON */
	size_t body_len;
	int timeout_ms;      /* bounds resolve + connect + send + answer together (named in messages) */
	long long deadline;  /* ad_now_ms() time it all ends, when it started earlier; 0: now + timeout_ms */
};

struct ad_http_resp {
	int status;
	struct ad_buf body;  /* the answer's body (Content-Length and chunked encoding honoured) */
	struct ad_buf proof; /* the X-Accel-Data-Proof header, NULL data when absent */
};

/*
 * Sends req and reads the answer, all within req->timeout_ms. Returns the
 * HTTP status (also in resp->status), or -1 with the reason in err (cannot
 * resolve, refused, timeout, garbled answer). Never raises SIGPIPE.
 */
int ad_http_do(const struct ad_http_req *req, struct ad_http_resp *resp, char *err, size_t errlen);
void ad_http_resp_free(struct ad_http_resp *resp);

/* The monotonic clock in milliseconds (deadlines). */
long long ad_now_ms(void);

/*
 * Splits "HOST:PORT" or "[V6ADDR]:PORT" into host and port (1-65535).
 * Returns 0, or -1 when s is not of that form.
 */
int ad_split_hostport(const char *s, char host[AD_MAX_HOST], char port[6]);

#endif
