/* http.h: one bounded HTTP/1.1 POST over a unix socket. */
#ifndef ACCEL_DATA_HTTP_H
#define ACCEL_DATA_HTTP_H

#include <stddef.h>

#include "buf.h"

/*
 * POSTs body (JSON) to path on the unix socket sock and reads the answer,
 * all within timeout_ms. Returns the HTTP status (e.g. 202) with the answer's
 * body in resp, or -1 with the reason in err (no socket, refused, timeout,
 * garbled answer). Never raises SIGPIPE.
 */
int ad_http_post(const char *sock, const char *path, const char *body, int timeout_ms,
		 struct ad_buf *resp, char *err, size_t errlen);

#endif
