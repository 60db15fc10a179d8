/* test_accel.c: unit tests for parsing, validation, JSON and the bounded POST (more in test_auth.c). Run by `make test`. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "pathrule.h"
#include "paths.h"
#include "testing.h"
#include "token.h"

int failures, checks;

static struct ad_config cfg_of(int argc, char **argv)
{
	struct ad_config c;
	char err[512];
	int r = ad_config_parse(&c, argc, argv, err, sizeof(err));
	CHECK(r == 0, "config parse failed: %s", err);
	return c;
}

static void test_config(void)
{
	struct ad_config c;
	char err[512];
	char *all[] = { "socket=/tmp/w.sock", "prefix=/jfs:/data//x/", "max_paths=3", "timeout_ms=250", "enabled=no" };
	char *unknown[] = { "prefix=/jfs", "sokcet=/x" };
	char *bad[][1] = { { "max_paths=0" }, { "timeout_ms=abc" }, { "enabled=maybe" }, { "socket=rel" },
			   { "prefix=jfs" }, { "prefix=/jfs/../etc" }, { "prefix=" }, { "max_paths=12x" } };

	c = cfg_of(0, NULL);
	CHECK(strcmp(c.socket, AD_DEFAULT_SOCKET) == 0, "default socket %s", c.socket);
	CHECK(c.nprefixes == 1 && strcmp(c.prefixes[0], "/jfs") == 0, "default prefix");
	CHECK(c.max_paths == AD_DEFAULT_MAX_PATHS && c.timeout_ms == 500 && c.enabled == 1, "defaults");
	ad_config_free(&c);

	c = cfg_of(5, all);
	CHECK(strcmp(c.socket, "/tmp/w.sock") == 0, "socket %s", c.socket);
	CHECK(c.nprefixes == 2 && strcmp(c.prefixes[1], "/data/x") == 0, "prefixes normalized");
	CHECK(c.max_paths == 3 && c.timeout_ms == 250 && c.enabled == 0, "values");
	ad_config_free(&c);

	CHECK(ad_config_parse(&c, 2, unknown, err, sizeof(err)) != 0, "unknown key accepted");
	CHECK(strstr(err, "sokcet=/x") != NULL, "message names the key: %s", err);
	ad_config_free(&c);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(ad_config_parse(&c, 1, bad[i], err, sizeof(err)) != 0, "accepted %s", bad[i][0]);
		CHECK(err[0] != '\0', "no message for %s", bad[i][0]);
		ad_config_free(&c);
	}
}

static void test_normalize(void)
{
	struct { const char *in, *want; } ok[] = {
		{ "/jfs/a", "/jfs/a" }, { "/jfs//a/", "/jfs/a" }, { "/jfs/./a/.", "/jfs/a" },
		{ "/", "/" }, { "///", "/" }, { "/jfs/a..b/...", "/jfs/a..b/..." },
	};
	const char *bad[] = { "jfs/a", "", "/jfs/../etc", "/jfs/a/..", "/jfs/\n", "/jfs/\xff" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *out = NULL;
		CHECK(ad_path_normalize(ok[i].in, &out) == 0 && strcmp(out, ok[i].want) == 0,
		      "%s -> %s, want %s", ok[i].in, out ? out : "(fail)", ok[i].want);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;
		CHECK(ad_path_normalize(bad[i], &out) != 0, "accepted %s", bad[i]);
		free(out);
	}
}

static void test_paths(void)
{
	char *args[] = { "prefix=/jfs:/data", "max_paths=3" };
	struct ad_config c = cfg_of(2, args);
	struct ad_paths p;
	char err[1024];
	char *joined;
	char *huge;
	struct { const char *in, *want_in_err; } bad[] = {
		{ "jfs/a", "jfs/a: path is relative" },
		{ "/jfs/a/../../etc", "'..'" },
		{ "/jfsx/a", "not under an accel-data mount" },
		{ "/etc/passwd", "/etc/passwd: not under" },
		{ "/jfs/a,/jfs/b,/jfs/c,/jfs/d", "more than 3 paths" },
		{ "/jfs/a\n", "/jfs/a\\x0a: path contains a control character" },
		{ "/jfs/a\x7f", "control character" },
		{ "/jfs/a\\,/etc", "/etc: not under" },
		{ "/jfs/ok,/jfs/bad\xff", "/jfs/bad\\xff: path is not valid UTF-8" },
		{ "/jfs/a,,/jfs/b", "empty path" },
		{ "/jfs/a,", "empty path" },
		{ "", "at least one path" },
		{ "/jfs/a, /jfs/b", " /jfs/b: path is relative" },
	};

	CHECK(ad_paths_parse("/jfs/a,/data/b//c/,/jfs/a/", &c, &p, err, sizeof(err)) == 0, "valid list: %s", err);
	CHECK(p.n == 2, "dedup: got %zu paths", p.n);
	joined = ad_paths_join(&p);
	CHECK(joined && strcmp(joined, "/jfs/a,/data/b/c") == 0, "joined %s", joined);
	free(joined);
	ad_paths_free(&p);

	/* max_paths counts distinct paths: a repeated --accel-data (merged) names some twice. */
	CHECK(ad_paths_parse("/jfs/a,/jfs/b,/jfs/c,/jfs/a,/jfs/b,/jfs/c", &c, &p, err, sizeof(err)) == 0 && p.n == 3,
	      "duplicates counted against max_paths: %s", err);
	ad_paths_free(&p);

	CHECK(ad_paths_parse("/jfs", &c, &p, err, sizeof(err)) == 0, "the prefix itself is allowed: %s", err);
	ad_paths_free(&p);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(ad_paths_parse(bad[i].in, &c, &p, err, sizeof(err)) != 0, "accepted '%s'", bad[i].in);
		CHECK(strstr(err, bad[i].want_in_err) != NULL, "'%s': message '%s' lacks '%s'", bad[i].in, err, bad[i].want_in_err);
		CHECK(strchr(err, '\n') == NULL, "message is one line: %s", err);
		CHECK(p.n == 0 && p.v == NULL, "output freed on error");
	}

	/* Too long overall: no fixed buffer may overflow, the message names the limit. */
	huge = malloc(AD_MAX_TOTAL_LEN + 100);
	memset(huge, 'a', AD_MAX_TOTAL_LEN + 99);
	memcpy(huge, "/jfs/", 5);
	huge[AD_MAX_TOTAL_LEN + 99] = '\0';
	CHECK(ad_paths_parse(huge, &c, &p, err, sizeof(err)) != 0 && strstr(err, "limit") != NULL, "huge: %s", err);
	/* One path of 4096 bytes is fine and kept whole; 8000 is refused in a short message. */
	huge[AD_MAX_PATH_LEN] = '\0';
	CHECK(ad_paths_parse(huge, &c, &p, err, sizeof(err)) == 0 && strlen(p.v[0]) == AD_MAX_PATH_LEN, "long path: %s", err);
	ad_paths_free(&p);
	memset(huge + AD_MAX_PATH_LEN, 'a', 8000 - AD_MAX_PATH_LEN);
	huge[8000] = '\0';
	CHECK(ad_paths_parse(huge, &c, &p, err, sizeof(err)) != 0 && strstr(err, "path is 8000 bytes, longer than the 4096 allowed") &&
	      strlen(err) < 300, "8000-byte path: %s", err);
	free(huge);
	ad_config_free(&c);
}

/* Expands \xNN (a byte), \\ (a backslash) and \pN (N letters a) of testdata/paths.tsv into b. */
static int decode_case(const char *s, struct ad_buf *b)
{
	b->len = 0;
	if (ad_buf_append(b, "", 0) != 0)
		return -1;
	for (; *s; s++) {
		char c = *s;

		if (c == '\\' && s[1] == '\\') {
			s++;
		} else if (c == '\\' && s[1] == 'x') {
			unsigned v;
			if (sscanf(s + 2, "%2x", &v) != 1)
				return -1;
			c = (char)v;
			s += 3;
		} else if (c == '\\' && s[1] == 'p') {
			char *end;
			long n = strtol(s + 2, &end, 10);
			for (long i = 0; i < n; i++)
				if (ad_buf_putc(b, 'a') != 0)
					return -1;
			s = end - 1;
			continue;
		} else if (c == '\\') {
			return -1;
		}
		if (ad_buf_putc(b, c) != 0)
			return -1;
	}
	return 0;
}

/*
 * The one path rule, from the table warmupd's Go test reads too: the same
 * paths accepted (cleaned the same) and refused (with the same words), in a
 * short one-line message however long the path.
 */
static void test_path_table(void)
{
	char *args[] = { "prefix=/" };
	struct ad_config c = cfg_of(1, args);
	FILE *f = fopen("testdata/paths.tsv", "r");
	char line[16384], err[2048];
	struct ad_buf in = { 0 }, want = { 0 };
	int lineno = 0, cases = 0;

	CHECK(f != NULL, "open testdata/paths.tsv (run from spank/)");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *verdict, *result, *out = NULL;
		struct ad_paths p;
		int ok, rc;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		verdict = strchr(line, '\t');
		result = verdict ? strchr(verdict + 1, '\t') : NULL;
		CHECK(result != NULL, "paths.tsv:%d: want three tab-separated columns", lineno);
		if (result == NULL)
			continue;
		*verdict++ = '\0';
		*result++ = '\0';
		ok = strcmp(verdict, "ok") == 0;
		CHECK(ok || strcmp(verdict, "refuse") == 0, "paths.tsv:%d: verdict %s", lineno, verdict);
		CHECK(decode_case(line, &in) == 0 && decode_case(result, &want) == 0, "paths.tsv:%d: bad escape", lineno);
		cases++;

		err[0] = '\0';
		rc = ad_path_check(in.data, in.len, &out, err, sizeof(err));
		if (ok) {
			CHECK(rc == 0 && strcmp(out, want.data) == 0, "paths.tsv:%d: got %s (%s), want %s", lineno,
			      out ? out : "(refused)", err, want.data);
		} else {
			CHECK(rc != 0 && out == NULL, "paths.tsv:%d: accepted as %s", lineno, out);
			CHECK(strstr(err, want.data) != NULL, "paths.tsv:%d: message '%s' lacks '%s'", lineno, err, want.data);
			CHECK(strchr(err, '\n') == NULL && strlen(err) <= 400, "paths.tsv:%d: long message %s", lineno, err);
		}
		free(out);

		/* The same verdict through the whole --accel-data parser (an empty value has its own message). */
		if (in.len == 0)
			continue;
		err[0] = '\0';
		rc = ad_paths_parse(in.data, &c, &p, err, sizeof(err));
		if (ok)
			CHECK(rc == 0 && p.n == 1 && strcmp(p.v[0], want.data) == 0, "paths.tsv:%d: parse: %s", lineno, err);
		else
			CHECK(rc != 0 && strstr(err, want.data) != NULL, "paths.tsv:%d: parse: '%s' lacks '%s'", lineno, err, want.data);
		ad_paths_free(&p);
	}
	CHECK(cases > 30, "only %d cases read", cases);
	if (f != NULL)
		fclose(f);
	ad_buf_free(&in);
	ad_buf_free(&want);
	ad_config_free(&c);
}

static void test_access(void)
{
	char *args[] = { "prefix=/" };
	struct ad_config c = cfg_of(1, args);
	struct ad_paths p;
	char err[1024];
	char long_path[4001];

	CHECK(ad_paths_parse("/tmp,/no/such/dataset", &c, &p, err, sizeof(err)) == 0, "parse: %s", err);
	CHECK(ad_paths_check_access(&p, err, sizeof(err)) != 0, "missing path passed the access check");
	CHECK(strstr(err, "/no/such/dataset") != NULL && strstr(err, "No such file") != NULL, "message: %s", err);
	ad_paths_free(&p);
	CHECK(ad_paths_parse("/tmp", &c, &p, err, sizeof(err)) == 0 && ad_paths_check_access(&p, err, sizeof(err)) == 0,
	      "/tmp should be accessible: %s", err);
	ad_paths_free(&p);

	/* A 4000-byte missing path: the reason comes whole after the shortened path (it was cut at 1 KiB). */
	memset(long_path, 'x', sizeof(long_path) - 1);
	memcpy(long_path, "/no/", 4);
	long_path[sizeof(long_path) - 1] = '\0';
	CHECK(ad_paths_parse(long_path, &c, &p, err, sizeof(err)) == 0, "parse: %s", err);
	CHECK(ad_paths_check_access(&p, err, sizeof(err)) != 0, "missing long path passed");
	CHECK(strstr(err, "/no/xxx") == err && strstr(err, "\xe2\x80\xa6") != NULL &&
	      strstr(err, ": No such file or directory (check the path exists") != NULL && strlen(err) < 300,
	      "long path message: %s", err);
	ad_paths_free(&p);
	ad_config_free(&c);
}

static void test_json(void)
{
	struct ad_buf b = { 0 }, out = { 0 };
	struct ad_paths p;
	char *v[] = { "/jfs/a\"b", "/jfs/c\\d\te\x01" "f\xc3\xa9" };
	const char *answer = "{\"n\":1,\"nested\":{\"error\":\"no\"},\"list\":[\"x\",{\"y\":\"}\"}],"
			     "\"error\":\"path \\\"x\\\" is not\\nunder \\u002fjfs \\u00e9\",\"path\":\"/etc\"}";

	CHECK(ad_json_string(&b, "plain") == 0 && strcmp(b.data, "\"plain\"") == 0, "%s", b.data);
	b.len = 0;
	ad_json_string(&b, v[1]);
	CHECK(strcmp(b.data, "\"/jfs/c\\\\d\\te\\u0001f\xc3\xa9\"") == 0, "escaped %s", b.data);
	ad_buf_free(&b);

	p.v = v;
	p.n = 2;
	CHECK(ad_json_request(&b, &p, "00ff") == 0, "request");
	CHECK(strcmp(b.data, "{\"paths\":[\"/jfs/a\\\"b\",\"/jfs/c\\\\d\\te\\u0001f\xc3\xa9\"],\"token\":\"00ff\",\"source\":\"submit\"}") == 0,
	      "body %s", b.data);
	ad_buf_free(&b);

	CHECK(ad_json_get_string(answer, "error", &out) == 0, "error member not found");
	CHECK(out.data && strcmp(out.data, "path \"x\" is not\nunder /jfs ?") == 0, "error=%s", out.data);
	ad_buf_free(&out);
	CHECK(ad_json_get_string(answer, "path", &out) == 0 && strcmp(out.data, "/etc") == 0, "path member");
	ad_buf_free(&out);
	CHECK(ad_json_get_string(answer, "missing", &out) != 0, "missing member found");
	CHECK(ad_json_get_string("not json", "error", &out) != 0, "garbage parsed");
	CHECK(ad_json_get_string("{\"error\":\"unterminated", "error", &out) != 0, "unterminated parsed");
	ad_buf_free(&out);
}

/* warmupd's 4xx answer becomes one line that names the path once, shortened. */
static void test_rejection(void)
{
	struct ad_buf b = { 0 }, resp = { 0 }, t = { 0 };
	char shown[AD_SHOW_BUF];
	char path[5001];

	memset(path, 'y', sizeof(path) - 1);
	memcpy(path, "/jfs/", 5);
	path[sizeof(path) - 1] = '\0';
	ad_path_show(path, strlen(path), shown);

	/* warmupd's own error already starts with the shown path: printed as is. */
	ad_buf_puts(&resp, "{\"error\":\"");
	ad_buf_puts(&resp, shown);
	ad_buf_puts(&resp, ": no such file or directory\",\"path\":\"");
	ad_buf_puts(&resp, path);
	ad_buf_puts(&resp, "\"}");
	CHECK(ad_rejection_text(404, resp.data, &t) == 0, "rejection text");
	CHECK(strstr(t.data, ": no such file or directory") && strlen(t.data) < 200 && strstr(t.data + 1, "/jfs/") == NULL,
	      "one shortened path: %s", t.data);
	ad_buf_free(&t);

	/* An error that does not name the path gets it in front. */
	CHECK(ad_rejection_text(400, "{\"error\":\"outside the mounts\",\"path\":\"/x\"}", &t) == 0 &&
	      strcmp(t.data, "/x: outside the mounts") == 0, "prefixed: %s", t.data);
	ad_buf_free(&t);
	CHECK(ad_rejection_text(400, "{\"error\":\"no paths given\"}", &t) == 0 && strcmp(t.data, "no paths given") == 0,
	      "no path: %s", t.data);
	ad_buf_free(&t);
	CHECK(ad_rejection_text(413, "<html>", &t) == 0 && strcmp(t.data, "warmupd refused the request (HTTP 413)") == 0,
	      "not JSON: %s", t.data);
	ad_buf_free(&t);
	ad_buf_free(&resp);
	ad_buf_free(&b);
}

static void test_token(void)
{
	char a[AD_TOKEN_HEX + 1], b[AD_TOKEN_HEX + 1];

	CHECK(ad_token(a) == 0 && ad_token(b) == 0, "token");
	CHECK(strlen(a) == 32 && strspn(a, "0123456789abcdef") == 32, "hex: %s", a);
	CHECK(strcmp(a, b) != 0, "two tokens equal: %s", a);
}

/* A one-shot server in a child process: reads the request, then answers with reply after delay_ms. */
static pid_t serve(const char *path, const char *reply, int delay_ms, const char *dump)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	unlink(path);
	strcpy(addr.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4) != 0) {
		perror("serve");
		exit(2);
	}
	pid = fork();
	if (pid == 0) {
		char buf[65536];
		size_t got = 0;
		int c = accept(fd, NULL, NULL);
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		while (poll(&pfd, 1, 200) > 0) {
			ssize_t n = read(c, buf + got, sizeof(buf) - got - 1);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") && strstr(buf, "}"))
				break;
		}
		if (dump) {
			FILE *f = fopen(dump, "w");
			fwrite(buf, 1, got, f);
			fclose(f);
		}
		usleep((useconds_t)delay_ms * 1000);
		if (write(c, reply, strlen(reply)) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	close(fd);
	return pid;
}

static long long ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* POSTs body to path on the unix socket sock, as the plugin does without server=; the answer's body goes to resp. */
static int post_unix(const char *sock, const char *path, const char *body, int timeout_ms, struct ad_buf *resp,
		     char *err, size_t errlen)
{
	struct ad_http_req req = { .socket = sock, .method = "POST", .uri = path, .body = body,
				   .body_len = strlen(body), .timeout_ms = timeout_ms };
	struct ad_http_resp r = { .body = *resp };
	int st = ad_http_do(&req, &r, err, errlen);

	*resp = r.body;
	ad_buf_free(&r.proof);
	return st;
}

static void test_http(void)
{
	char dir[] = "/tmp/accel-http-XXXXXX";
	char sock[256], dump[256], req[4096];
	struct ad_buf resp = { 0 };
	char err[512];
	pid_t pid;
	int st;
	long long t0;
	FILE *f;
	size_t n;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(sock, sizeof(sock), "%s/w.sock", dir);
	snprintf(dump, sizeof(dump), "%s/req.txt", dir);

	pid = serve(sock, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"request_id\":1}", 0, dump);
	st = post_unix(sock, "/v1/requests", "{\"paths\":[\"/jfs/a\"]}", 2000, &resp, err, sizeof(err));
	CHECK(st == 202, "status %d (%s)", st, err);
	CHECK(resp.data && strcmp(resp.data, "{\"request_id\":1}") == 0, "body %s", resp.data);
	waitpid(pid, NULL, 0);
	f = fopen(dump, "r");
	n = f ? fread(req, 1, sizeof(req) - 1, f) : 0;
	req[n] = '\0';
	if (f)
		fclose(f);
	CHECK(strncmp(req, "POST /v1/requests HTTP/1.1\r\n", 28) == 0, "request line: %s", req);
	CHECK(strstr(req, "Host: warmupd\r\n") && strstr(req, "Content-Length: 20\r\n") && strstr(req, "Connection: close\r\n"),
	      "headers: %s", req);
	CHECK(strstr(req, "\r\n\r\n{\"paths\":[\"/jfs/a\"]}") != NULL, "body sent: %s", req);

	pid = serve(sock, "HTTP/1.1 400 Bad Request\r\nContent-Length: 42\r\n\r\n{\"error\":\"outside the mounts\",\"path\":\"/x\"}", 0, NULL);
	st = post_unix(sock, "/v1/requests", "{}", 2000, &resp, err, sizeof(err));
	CHECK(st == 400 && strstr(resp.data, "outside the mounts"), "400: %d %s", st, resp.data);
	waitpid(pid, NULL, 0);

	/* A server that never answers: the call gives up at the deadline. */
	pid = serve(sock, "HTTP/1.1 202 Accepted\r\n\r\n", 3000, NULL);
	t0 = ms();
	st = post_unix(sock, "/v1/requests", "{}", 300, &resp, err, sizeof(err));
	CHECK(st == -1 && strstr(err, "within 300 ms"), "slow server: %d %s", st, err);
	CHECK(ms() - t0 < 1000, "deadline overrun: %lld ms", ms() - t0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* Nobody listening (stale socket file) and no socket at all. */
	st = post_unix(sock, "/v1/requests", "{}", 300, &resp, err, sizeof(err));
	CHECK(st == -1 && strstr(err, "connect"), "stale socket: %d %s", st, err);
	unlink(sock);
	st = post_unix(sock, "/v1/requests", "{}", 300, &resp, err, sizeof(err));
	CHECK(st == -1 && strstr(err, "No such file"), "no socket: %d %s", st, err);

	/* Garbage answer. */
	pid = serve(sock, "SSH-2.0-nope\r\n", 0, NULL);
	st = post_unix(sock, "/v1/requests", "{}", 2000, &resp, err, sizeof(err));
	CHECK(st == -1 && strstr(err, "garbled"), "garbage: %d %s", st, err);
	waitpid(pid, NULL, 0);

	unlink(sock);
	unlink(dump);
	rmdir(dir);
	ad_buf_free(&resp);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL); /* MSG_NOSIGNAL must make this harmless */
	test_config();
	test_normalize();
	test_paths();
	test_path_table();
	test_access();
	test_rejection();
	test_json();
	test_token();
	test_http();
	test_sha256();
	test_auth_vectors();
	test_server_config();
	test_tcp_bounds();
	test_call();
	test_munged_stuck();
	printf("test_accel: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
