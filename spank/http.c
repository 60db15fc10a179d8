/*
 * http.c: one bounded HTTP/1.1 request to warmupd over its unix socket or
 * TCP: names resolved in the background, non-blocking connect, poll, and one
 * deadline for all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/* Most bytes read from warmupd's answer. */
#define AD_MAX_ANSWER (64 * 1024)

long long ad_now_ms(void)
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
		long long left = deadline - ad_now_ms();
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

int ad_split_hostport(const char *s, char host[AD_MAX_HOST], char port[6])
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hlen;
	char *end = NULL;
	long p;

	if (colon == NULL)
		return -1;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			return -1;
		h = s + 1;
		hlen -= 2;
	} else if (memchr(s, ':', hlen) != NULL) {
		return -1; /* a bare IPv6 address: needs [brackets] */
	}
	if (hlen == 0 || hlen >= AD_MAX_HOST || strlen(colon + 1) > 5 || colon[1] < '0' || colon[1] > '9')
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return -1;
	for (size_t i = 0; i < hlen; i++)
		if ((unsigned char)h[i] <= ' ' || h[i] == '/' || h[i] == '[' || h[i] == ']')
			return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, 6, "%ld", p);
	return 0;
}

/*
 * Resolves host and port before the deadline. An address is taken as is; a
 * name goes to getaddrinfo_a, so a hung DNS server cannot hold sbatch.
 */
static struct addrinfo *resolve(const char *host, const char *port, long long deadline, int timeout_ms,
				const char *label, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct {
		struct gaicb cb;
		struct addrinfo hints;
		char host[AD_MAX_HOST], port[6];
	} *q;
	struct gaicb *list[1];
	int r;

	r = getaddrinfo(host, port, &hints, &res);
	if (r == 0)
		return res;
	if (r != EAI_NONAME) {
		snprintf(err, errlen, "resolve %s: %s", label, gai_strerror(r));
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->hints = hints;
	q->hints.ai_flags = AI_NUMERICSERV;
	snprintf(q->host, sizeof(q->host), "%s", host);
	snprintf(q->port, sizeof(q->port), "%s", port);
	q->cb.ar_name = q->host;
	q->cb.ar_service = q->port;
	q->cb.ar_request = &q->hints;
	list[0] = &q->cb;
	r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (r != 0) {
		snprintf(err, errlen, "resolve %s: %s", label, gai_strerror(r));
		free(q);
		return NULL;
	}
	for (;;) {
		long long left = deadline - ad_now_ms();
		struct timespec ts;

		if (left <= 0)
			break;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		r = gai_suspend((const struct gaicb *const *)list, 1, &ts);
		if (r != EAI_INTR)
			break;
	}
	r = gai_error(&q->cb);
	if (r == EAI_INPROGRESS) {
		snprintf(err, errlen, "resolve %s: no answer within %d ms", label, timeout_ms);
		/* When the lookup is already running, its thread still writes into q: leave q to it. */
		if (gai_cancel(&q->cb) == EAI_CANCELED)
			free(q);
		return NULL;
	}
	if (r != 0) {
		snprintf(err, errlen, "resolve %s: %s", label, gai_strerror(r));
		free(q);
		return NULL;
	}
	res = q->cb.ar_result;
	free(q);
	return res;
}

/* A non-blocking connect to sa, finished before the deadline. Returns the socket or -1. */
static int connect_to(const struct sockaddr *sa, socklen_t salen, long long deadline, int timeout_ms,
		      const char *label, char *err, size_t errlen)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int soerr = 0;
	socklen_t slen = sizeof(soerr);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno == EAGAIN && sa->sa_family == AF_UNIX) {
		/* A unix socket's listen queue is full: the daemon is overloaded or hung. */
		snprintf(err, errlen, "connect %s: warmupd's listen queue is full", label);
		goto fail;
	}
	if (errno != EINPROGRESS && errno != EAGAIN) {
		snprintf(err, errlen, "connect %s: %s", label, strerror(errno));
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, deadline) != 1) {
		snprintf(err, errlen, "connect %s: no answer within %d ms", label, timeout_ms);
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 || soerr != 0) {
		snprintf(err, errlen, "connect %s: %s", label, strerror(soerr ? soerr : errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Connects to req's unix socket or TCP server. Returns the socket or -1. */
static int open_conn(const struct ad_http_req *req, const char *label, long long deadline, char *err, size_t errlen)
{
	char host[AD_MAX_HOST], port[6];
	struct addrinfo *res, *ai;
	int fd = -1;

	if (req->server == NULL) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };

		if (strlen(req->socket) >= sizeof(addr.sun_path)) {
			snprintf(err, errlen, "socket path %s is too long for a unix socket", req->socket);
			return -1;
		}
		memcpy(addr.sun_path, req->socket, strlen(req->socket) + 1);
		return connect_to((struct sockaddr *)&addr, sizeof(addr), deadline, req->timeout_ms, label, err, errlen);
	}
	if (ad_split_hostport(req->server, host, port) != 0) {
		snprintf(err, errlen, "server=%s: expected HOST:PORT", req->server);
		return -1;
	}
	res = resolve(host, port, deadline, req->timeout_ms, label, err, errlen);
	/* Each address in turn (IPv6 and IPv4 of one name), within the one deadline. */
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		if (ad_now_ms() >= deadline) {
			snprintf(err, errlen, "connect %s: no answer within %d ms", label, req->timeout_ms);
			break;
		}
		fd = connect_to(ai->ai_addr, ai->ai_addrlen, deadline, req->timeout_ms, label, err, errlen);
	}
	if (res != NULL)
		freeaddrinfo(res);
	return fd;
}

/* The value of header name in the head (status line excluded, ends at "\r\n\r\n"), or NULL. */
static const char *header(const char *head, const char *end, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l != NULL && l < end; l = strstr(l + 2, "\r\n")) {
		const char *v = l + 2, *e;

		if (strncasecmp(v, name, nlen) != 0 || v[nlen] != ':')
			continue;
		v += nlen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = strstr(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*vlen = (size_t)(e - v);
		return v;
	}
	return NULL;
}

/* Decodes a chunked body from p..end into out. Returns 0, or -1 when it is cut short or garbled. */
static int dechunk(const char *p, const char *end, struct ad_buf *out)
{
	for (;;) {
		char *q;
		unsigned long n;
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);

		if (eol == NULL)
			return -1;
		n = strtoul(p, &q, 16);
		if (q == p || (q != eol && *q != ';' && *q != ' '))
			return -1;
		p = eol + 2;
		if (n == 0)
			return 0;
		if ((size_t)(end - p) < n + 2 || memcmp(p + n, "\r\n", 2) != 0)
			return -1;
		if (ad_buf_append(out, p, n) != 0)
			return -1;
		p += n + 2;
	}
}

/* Splits the answer in into status, proof header and body. Returns the status or -1. */
static int parse_answer(const struct ad_buf *in, struct ad_http_resp *resp, const char *label, char *err, size_t errlen)
{
	const char *head_end, *body, *end, *v;
	size_t vlen;
	int status;

	if (in->data == NULL || sscanf(in->data, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 999 ||
	    (head_end = strstr(in->data, "\r\n\r\n")) == NULL) {
		snprintf(err, errlen, "garbled answer from %s (is it warmupd?)", label);
		return -1;
	}
	body = head_end + 4;
	end = in->data + in->len;
	if ((v = header(in->data, head_end, "X-Accel-Data-Proof", &vlen)) != NULL &&
	    (ad_buf_append(&resp->proof, v, vlen) != 0 || ad_buf_append(&resp->proof, "", 0) != 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((v = header(in->data, head_end, "Transfer-Encoding", &vlen)) != NULL && vlen == 7 &&
	    strncasecmp(v, "chunked", 7) == 0) {
		if (dechunk(body, end, &resp->body) != 0) {
			snprintf(err, errlen, "answer from %s was cut short", label);
			return -1;
		}
	} else {
		size_t n = (size_t)(end - body);

		if ((v = header(in->data, head_end, "Content-Length", &vlen)) != NULL) {
			unsigned long cl = strtoul(v, NULL, 10);

			if (cl > n) {
				snprintf(err, errlen, "answer from %s was cut short", label);
				return -1;
			}
			n = cl;
		}
		if (ad_buf_append(&resp->body, body, n) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (ad_buf_append(&resp->body, "", 0) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	resp->status = status;
	return status;
}

/* 1 when in holds a whole answer with a Content-Length (warmupd's usual), so no need to wait for EOF. */
static int complete(const struct ad_buf *in)
{
	const char *head_end = in->data ? strstr(in->data, "\r\n\r\n") : NULL, *v;
	size_t vlen;

	if (head_end == NULL || (v = header(in->data, head_end, "Content-Length", &vlen)) == NULL ||
	    header(in->data, head_end, "Transfer-Encoding", &vlen) != NULL)
		return 0;
	return (size_t)(in->data + in->len - (head_end + 4)) >= strtoul(v, NULL, 10);
}

int ad_http_do(const struct ad_http_req *req, struct ad_http_resp *resp, char *err, size_t errlen)
{
	int rv = -1, fd = -1;
	long long deadline = req->deadline ? req->deadline : ad_now_ms() + req->timeout_ms;
	const char *label = req->server ? req->server : req->socket;
	struct ad_buf out = { 0 }, in = { 0 };
	char head[512];
	size_t off = 0;

	resp->status = 0;
	resp->body.len = 0;
	ad_buf_free(&resp->proof);
	snprintf(head, sizeof(head),
		 "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n",
		 req->method, req->uri, req->server ? req->server : "warmupd", req->body_len);
	if (ad_buf_puts(&out, head) != 0 || (req->headers && ad_buf_puts(&out, req->headers) != 0) ||
	    ad_buf_puts(&out, "\r\n") != 0 || ad_buf_append(&out, req->body, req->body_len) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	fd = open_conn(req, label, deadline, err, errlen);
	if (fd < 0)
		goto fail;

	while (off < out.len) {
		ssize_t n = send(fd, out.data + off, out.len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) != 1) {
				snprintf(err, errlen, "send to %s: no progress within %d ms", label, req->timeout_ms);
				goto fail;
			}
			continue;
		}
		snprintf(err, errlen, "send to %s: %s", label, strerror(errno));
		goto fail;
	}

	while (!complete(&in)) {
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n > 0) {
			if (in.len + (size_t)n > AD_MAX_ANSWER) {
				snprintf(err, errlen, "answer from %s is larger than %d bytes", label, AD_MAX_ANSWER);
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
				snprintf(err, errlen, "no answer from %s within %d ms", label, req->timeout_ms);
				goto fail;
			}
			continue;
		}
		snprintf(err, errlen, "recv from %s: %s", label, strerror(errno));
		goto fail;
	}
	rv = parse_answer(&in, resp, label, err, errlen);
fail:
	if (fd >= 0)
		close(fd);
	ad_buf_free(&out);
	ad_buf_free(&in);
	return rv;
}

void ad_http_resp_free(struct ad_http_resp *resp)
{
	ad_buf_free(&resp->body);
	ad_buf_free(&resp->proof);
}
