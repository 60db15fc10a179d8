/* http.c: one bounded HTTP/1.1 POST over a unix socket (non-blocking connect + poll). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/* Most bytes read from warmupd's answer. */
#define AD_MAX_ANSWER (64 * 1024)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline; returns 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		return r > 0 ? 1 : 0;
	}
}

int ad_http_post(const char *sock, const char *path, const char *body, int timeout_ms,
		 struct ad_buf *resp, char *err, size_t errlen)
{
	int rv = -1, fd = -1, status, soerr = 0;
	long long deadline = now_ms() + timeout_ms;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t slen = sizeof(soerr);
	struct ad_buf req = { 0 }, in = { 0 };
	char head[256];
	size_t off = 0;
	char *hdr_end;

	if (strlen(sock) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long for a unix socket", sock);
		goto fail;
	}
	memcpy(addr.sun_path, sock, strlen(sock) + 1);
	snprintf(head, sizeof(head),
		 "POST %s HTTP/1.1\r\nHost: warmupd\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 path, strlen(body));
	if (ad_buf_puts(&req, head) != 0 || ad_buf_puts(&req, body) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		if (errno == EAGAIN) {
			/* A unix socket's listen queue is full: the daemon is overloaded or hung. */
			snprintf(err, errlen, "connect %s: warmupd's listen queue is full", sock);
			goto fail;
		}
		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "connect %s: %s", sock, strerror(errno));
			goto fail;
		}
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			snprintf(err, errlen, "connect %s: no answer within %d ms", sock, timeout_ms);
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 || soerr != 0) {
			snprintf(err, errlen, "connect %s: %s", sock, strerror(soerr ? soerr : errno));
			goto fail;
		}
	}

	while (off < req.len) {
		ssize_t n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) != 1) {
				snprintf(err, errlen, "send to %s: no progress within %d ms", sock, timeout_ms);
				goto fail;
			}
			continue;
		}
		snprintf(err, errlen, "send to %s: %s", sock, strerror(errno));
		goto fail;
	}

	for (;;) {
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n > 0) {
			if (in.len + (size_t)n > AD_MAX_ANSWER) {
				snprintf(err, errlen, "answer from %s is larger than %d bytes", sock, AD_MAX_ANSWER);
				goto fail;
			}
			if (ad_buf_append(&in, chunk, (size_t)n) != 0) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(fd, POLLIN, deadline) != 1) {
				snprintf(err, errlen, "no answer from %s within %d ms", sock, timeout_ms);
				goto fail;
			}
			continue;
		}
		snprintf(err, errlen, "recv from %s: %s", sock, strerror(errno));
		goto fail;
	}

	if (in.data == NULL || sscanf(in.data, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 999) {
		snprintf(err, errlen, "garbled answer from %s (is it warmupd?)", sock);
		goto fail;
	}
	hdr_end = strstr(in.data, "\r\n\r\n");
	resp->len = 0;
	if (ad_buf_puts(resp, hdr_end ? hdr_end + 4 : "") != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rv = status;
fail:
	if (fd >= 0)
		close(fd);
	ad_buf_free(&req);
	ad_buf_free(&in);
	return rv;
}
