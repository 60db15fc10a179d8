/*
 * test_auth.c: SHA-256 and HMAC-SHA256 against FIPS 180-2 and RFC 4231, the
 * payload and proof against testdata/auth-vectors.tsv (shared with warmupd's
 * Go test), server= arguments, the TCP deadline, and the whole call with a
 * real private munged and an in-test listener returning canned answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <munge.h>

#include "auth.h"
#include "buf.h"
#include "call.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "sha256.h"
#include "testing.h"

static long long ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) < 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* 1 when s starts with prefix. */
static int starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	ad_hex(b, n, out);
}

void test_sha256(void)
{
	static const struct { const char *in, *want; } fips[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	};
	unsigned char d[AD_SHA256_LEN], key[131], data[152];
	char hex[2 * AD_SHA256_LEN + 1];
	struct ad_sha256 s;
	char *million;

	for (size_t i = 0; i < sizeof(fips) / sizeof(fips[0]); i++) {
		ad_sha256(fips[i].in, strlen(fips[i].in), d);
		hex_of(d, sizeof(d), hex);
		CHECK(strcmp(hex, fips[i].want) == 0, "sha256(%s) = %s", fips[i].in, hex);
	}
	/* One million 'a', fed in uneven pieces across block boundaries. */
	million = malloc(1000000);
	memset(million, 'a', 1000000);
	ad_sha256_init(&s);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 127 + 1)
		ad_sha256_update(&s, million + off, off + step > 1000000 ? 1000000 - off : step);
	ad_sha256_final(&s, d);
	hex_of(d, sizeof(d), hex);
	CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "million a: %s", hex);
	free(million);

	/* RFC 4231 test cases 1, 2, 3, 4, 6, 7. */
	memset(key, 0x0b, 20);
	ad_hmac_sha256(key, 20, "Hi There", 8, d);
	hex_of(d, sizeof(d), hex);
	CHECK(strcmp(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0, "rfc4231 1: %s", hex);
	ad_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex_of(d, sizeof(d), hex);
	CHECK(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0, "rfc4231 2: %s", hex);
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	ad_hmac_sha256(key, 20, data, 50, d);
	hex_of(d, sizeof(d), hex);
	CHECK(strcmp(hex, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe") == 0, "rfc4231 3: %s", hex);
	for (int i = 0; i < 25; i++)
		key[i] = (unsigned char)(i + 1);
	memset(data, 0xcd, 50);
	ad_hmac_sha256(key, 25, data, 50, d);
	hex_of(d, sizeof(d), hex);
	CHECK(strcmp(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b") == 0, "rfc4231 4: %s", hex);
	memset(key, 0xaa, 131);
	ad_hmac_sha256(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
	hex_of(d, sizeof(d), hex);
	CHECK(strcmp(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54") == 0, "rfc4231 6: %s", hex);
	memcpy(data, "This is a test using a larger than block-size key and a larger than block-size data. "
		     "The key needs to be hashed before being used by the HMAC algorithm.", 152);
	ad_hmac_sha256(key, 131, data, 152, d);
	hex_of(d, sizeof(d), hex);
	CHECK(strcmp(hex, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2") == 0, "rfc4231 7: %s", hex);

	CHECK(ad_ct_equal("abcd", "abcd", 4) && !ad_ct_equal("abcd", "abce", 4) && !ad_ct_equal("xbcd", "abcd", 4),
	      "ct_equal");
}

/* Decodes a JSON string literal (a column of auth-vectors.tsv) into out. */
static int json_literal(const char *lit, struct ad_buf *out)
{
	struct ad_buf obj = { 0 };
	int rv;

	out->len = 0;
	rv = ad_buf_puts(&obj, "{\"v\":") || ad_buf_puts(&obj, lit) || ad_buf_puts(&obj, "}") ||
	     ad_json_get_string(obj.data, "v", out) || ad_buf_append(out, "", 0);
	ad_buf_free(&obj);
	return rv ? -1 : 0;
}

/*
 * Every row of the vectors warmupd's Go test reads too: the same payload
 * from the same request and secrets, the same proof of the same answer.
 */
void test_auth_vectors(void)
{
	FILE *f = fopen("../testdata/auth-vectors.tsv", "r");
	char line[8192];
	int rows = 0, lineno = 0;
	struct ad_buf body = { 0 }, rbody = { 0 }, want = { 0 }, got = { 0 };

	CHECK(f != NULL, "open ../testdata/auth-vectors.tsv (run from spank/)");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *col[9], *save = NULL, *tok;
		int n = 0, status;
		struct ad_auth a;
		char proof[2 * AD_SHA256_LEN + 1];

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		for (tok = strtok_r(line, "\t", &save); tok != NULL && n < 9; tok = strtok_r(NULL, "\t", &save))
			col[n++] = tok;
		CHECK(n == 9, "auth-vectors.tsv:%d: %d columns, want 9", lineno, n);
		if (n != 9)
			continue;
		rows++;
		status = atoi(col[5]);
		CHECK(json_literal(col[2], &body) == 0 && json_literal(col[6], &rbody) == 0 && json_literal(col[7], &want) == 0,
		      "auth-vectors.tsv:%d: bad JSON literal", lineno);
		CHECK(strlen(col[3]) == 32 && strlen(col[4]) == 64 && unhex(col[4], a.reply_key, sizeof(a.reply_key)) == 0,
		      "auth-vectors.tsv:%d: nonce or reply-key", lineno);
		snprintf(a.nonce, sizeof(a.nonce), "%s", col[3]);

		CHECK(ad_auth_payload(&got, &a, col[0], col[1], body.data, body.len) == 0, "payload");
		CHECK(got.data && want.data && strcmp(got.data, want.data) == 0, "auth-vectors.tsv:%d: payload\n%s\nwant\n%s",
		      lineno, got.data, want.data);
		ad_auth_proof(&a, status, rbody.data, rbody.len, proof);
		CHECK(strcmp(proof, col[8]) == 0, "auth-vectors.tsv:%d: proof %s, want %s", lineno, proof, col[8]);
		CHECK(ad_auth_proof_ok(&a, status, rbody.data, rbody.len, col[8]), "auth-vectors.tsv:%d: proof refused", lineno);
		/* Each part of the answer is bound: another status, body, nonce or key fails. */
		CHECK(!ad_auth_proof_ok(&a, status + 1, rbody.data, rbody.len, col[8]), "%d: status not bound", lineno);
		CHECK(!ad_auth_proof_ok(&a, status, "x", 1, col[8]), "%d: body not bound", lineno);
		col[8][63] = col[8][63] == '0' ? '1' : '0';
		CHECK(!ad_auth_proof_ok(&a, status, rbody.data, rbody.len, col[8]), "%d: flipped proof accepted", lineno);
		CHECK(!ad_auth_proof_ok(&a, status, rbody.data, rbody.len, NULL), "%d: missing proof accepted", lineno);
		CHECK(!ad_auth_proof_ok(&a, status, rbody.data, rbody.len, ""), "%d: empty proof accepted", lineno);
	}
	CHECK(rows >= 5, "only %d rows in auth-vectors.tsv", rows);
	if (f != NULL)
		fclose(f);
	ad_buf_free(&body);
	ad_buf_free(&rbody);
	ad_buf_free(&want);
	ad_buf_free(&got);
}

void test_server_config(void)
{
	struct ad_config c;
	char err[512];
	char *good[] = { "server=svc1:7390", "munge_socket=/run/munge/other.sock", "server_uid=991", "timeout_ms=800" };
	char *v6[] = { "server=[::1]:7390" };
	const char *bad[] = { "server=svc1", "server=svc1:", "server=:7390", "server=svc1:0", "server=svc1:65536",
			      "server=::1:7390", "server=svc1:73a", "server=svc 1:7390", "server=[::1]7390",
			      "munge_socket=run/munge.sock", "server_uid=-1", "server_uid=root", "server_uid=" };

	CHECK(ad_config_parse(&c, 0, NULL, err, sizeof(err)) == 0 && c.server == NULL && c.munge_socket == NULL &&
	      c.server_uid == 0, "defaults: no server, libmunge's socket, uid 0");
	ad_config_free(&c);
	CHECK(ad_config_parse(&c, 4, good, err, sizeof(err)) == 0, "good: %s", err);
	CHECK(c.server && strcmp(c.server, "svc1:7390") == 0 && c.munge_socket &&
	      strcmp(c.munge_socket, "/run/munge/other.sock") == 0 && c.server_uid == 991 && c.timeout_ms == 800, "values");
	ad_config_free(&c);
	CHECK(ad_config_parse(&c, 1, v6, err, sizeof(err)) == 0, "[::1]:7390: %s", err);
	ad_config_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *arg[] = { (char *)bad[i] };
		err[0] = '\0';
		CHECK(ad_config_parse(&c, 1, arg, err, sizeof(err)) != 0, "accepted %s", bad[i]);
		CHECK(strncmp(err, bad[i], strcspn(bad[i], "=") + 1) == 0, "message does not name %s: %s", bad[i], err);
		ad_config_free(&c);
	}
}

/* A TCP listener on 127.0.0.1 with the given backlog; *port gets its port. */
static int listener(int backlog, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		perror("listener");
		exit(2);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int post_tcp(const char *server, int timeout_ms, struct ad_http_resp *resp, char *err, size_t errlen)
{
	struct ad_http_req req = { .server = server, .method = "POST", .uri = "/v1/requests", .body = "{}",
				   .body_len = 2, .timeout_ms = timeout_ms };
	return ad_http_do(&req, resp, err, errlen);
}

/*
 * The deadline holds however warmupd's host fails: a listener that never
 * accepts (its queue full: the SYN goes unanswered, like a host that drops
 * packets), one that accepts but never answers, nobody on the port, a name
 * that does not resolve.
 */
void test_tcp_bounds(void)
{
	struct ad_http_resp resp = { 0 };
	char server[64], err[512], want[128];
	int port, lfd, fill[8], nfill = 0, st;
	long long t0;

	lfd = listener(0, &port);
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	/* Fill the accept queue so that further handshakes are never completed. */
	for (int i = 0; i < 8; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (connect(fill[nfill], (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
			perror("fill");
		nfill++;
	}
	usleep(100 * 1000);
	t0 = ms();
	st = post_tcp(server, 400, &resp, err, sizeof(err));
	snprintf(want, sizeof(want), "connect %s: no answer within 400 ms", server);
	CHECK(st == -1 && strcmp(err, want) == 0, "never accepted: %d %s", st, err);
	CHECK(ms() - t0 >= 350 && ms() - t0 < 2000, "never accepted: gave up after %lld ms, want about 400", ms() - t0);
	for (int i = 0; i < nfill; i++)
		close(fill[i]);
	close(lfd);

	/* Accepted by the kernel, never read: the answer never comes. */
	lfd = listener(16, &port);
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	t0 = ms();
	st = post_tcp(server, 400, &resp, err, sizeof(err));
	CHECK(st == -1 && strstr(err, "no answer from") && strstr(err, "within 400 ms"), "silent: %d %s", st, err);
	CHECK(ms() - t0 >= 350 && ms() - t0 < 2000, "silent: gave up after %lld ms, want about 400", ms() - t0);
	close(lfd);

	/* Nobody listens any more on that port. */
	st = post_tcp(server, 400, &resp, err, sizeof(err));
	CHECK(st == -1 && strstr(err, "Connection refused") && strstr(err, server), "refused: %d %s", st, err);

	/* A name that does not resolve (.invalid never does): an error, in time. */
	t0 = ms();
	st = post_tcp("no-such-host.invalid:7390", 1000, &resp, err, sizeof(err));
	CHECK(st == -1 && strncmp(err, "resolve no-such-host.invalid:7390: ", 35) == 0, "bad name: %d %s", st, err);
	CHECK(ms() - t0 < 3000, "bad name took %lld ms", ms() - t0);
	ad_http_resp_free(&resp);
}

/* A private munged for the test (as the e2e cluster's), and its directory. */
static struct {
	char dir[64], sock[128];
	pid_t pid;
} mg;

static int start_munged(void)
{
	char cmd[1024], pidfile[160];
	FILE *f;

	snprintf(mg.dir, sizeof(mg.dir), "/tmp/accel-munge-XXXXXX");
	if (mkdtemp(mg.dir) == NULL || chmod(mg.dir, 0755) != 0)
		return -1;
	snprintf(mg.sock, sizeof(mg.sock), "%s/munge.sock", mg.dir);
	snprintf(pidfile, sizeof(pidfile), "%s/munged.pid", mg.dir);
	snprintf(cmd, sizeof(cmd),
		 "PATH=$PATH:/usr/sbin; mungekey -c -k %s/key && munged -S %s --key-file=%s/key --pid-file=%s "
		 "--log-file=%s/log --seed-file=%s/seed --force",
		 mg.dir, mg.sock, mg.dir, pidfile, mg.dir, mg.dir);
	if (system(cmd) != 0)
		return -1;
	f = fopen(pidfile, "r");
	if (f == NULL || fscanf(f, "%d", &mg.pid) != 1) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static void stop_munged(void)
{
	char cmd[256];

	if (mg.pid > 0) {
		kill(mg.pid, SIGTERM);
		for (int i = 0; i < 50 && kill(mg.pid, 0) == 0; i++)
			usleep(20 * 1000);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", mg.dir);
	if (mg.dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", mg.dir);
}

enum reply { REPLY_OK, REPLY_CHUNKED, REPLY_REFUSE, REPLY_503, REPLY_BADPROOF, REPLY_NOPROOF, REPLY_OTHER_STATUS, REPLY_401 };

/*
 * The listener's child: reads one request, decodes its credential with the
 * real munged, writes what it saw to dump, and answers as mode says, proving
 * (or not) the answer with the reply key from the credential.
 */
static void answer(int lfd, enum reply mode, const char *dump)
{
	char buf[65536], proof[2 * AD_SHA256_LEN + 1], head[512];
	size_t got = 0;
	int c = accept(lfd, NULL, NULL), status = 202;
	struct pollfd pfd = { .fd = c, .events = POLLIN };
	const char *body = "{\"request_id\":1}", *cred, *p;
	char *cred_copy = NULL, *payload = NULL;
	int plen = 0;
	uid_t uid = 0, restrict_uid = 0;
	gid_t gid = 0;
	munge_ctx_t ctx = munge_ctx_create();
	munge_err_t e;
	struct ad_auth a = { 0 };
	FILE *f;

	while (poll(&pfd, 1, 2000) > 0) {
		ssize_t n = read(c, buf + got, sizeof(buf) - got - 1);
		char *he;
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		he = strstr(buf, "\r\n\r\n");
		p = strstr(buf, "Content-Length: ");
		if (he && p && (size_t)(buf + got - (he + 4)) >= strtoul(p + 16, NULL, 10))
			break;
	}
	cred = strstr(buf, "\r\nAuthorization: MUNGE ");
	if (cred != NULL) {
		cred += 23;
		cred_copy = strndup(cred, strcspn(cred, "\r"));
	}
	munge_ctx_set(ctx, MUNGE_OPT_SOCKET, mg.sock);
	e = cred_copy ? munge_decode(cred_copy, ctx, (void **)&payload, &plen, &uid, &gid) : EMUNGE_BAD_ARG;
	munge_ctx_get(ctx, MUNGE_OPT_UID_RESTRICTION, &restrict_uid);
	f = fopen(dump, "w");
	fprintf(f, "decode=%d restrict=%u\n%.*s", (int)e, (unsigned)restrict_uid, plen, payload ? payload : "");
	fclose(f);
	if (payload && (p = strstr(payload, "\nnonce ")) != NULL)
		snprintf(a.nonce, sizeof(a.nonce), "%.32s", p + 7);
	if (payload && (p = strstr(payload, "\nreply-key ")) != NULL)
		unhex(p + 11, a.reply_key, sizeof(a.reply_key));

	if (mode == REPLY_REFUSE) {
		status = 400;
		body = "{\"error\":\"outside the mounts\",\"path\":\"/x\"}";
	} else if (mode == REPLY_503) {
		status = 503;
		body = "{\"error\":\"draining\"}";
	} else if (mode == REPLY_401) {
		status = 401;
		body = "{\"error\":\"credential replayed\x1b[31m\"}";
	}
	ad_auth_proof(&a, mode == REPLY_OTHER_STATUS ? 400 : status, body, strlen(body), proof);
	if (mode == REPLY_BADPROOF)
		a.reply_key[0] ^= 1, ad_auth_proof(&a, status, body, strlen(body), proof);
	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s%s%s", status,
		 mode == REPLY_NOPROOF || mode == REPLY_401 ? "" : "x-accel-data-proof: ",
		 mode == REPLY_NOPROOF || mode == REPLY_401 ? "" : proof, mode == REPLY_NOPROOF || mode == REPLY_401 ? "" : "\r\n");
	if (write(c, head, strlen(head)) < 0)
		_exit(1);
	if (mode == REPLY_CHUNKED) {
		dprintf(c, "Transfer-Encoding: chunked\r\n\r\n5\r\n%.5s\r\n%zx\r\n%s\r\n0\r\n\r\n", body, strlen(body) - 5, body + 5);
	} else {
		dprintf(c, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	}
	close(c);
	free(cred_copy);
	free(payload);
	munge_ctx_destroy(ctx);
	_exit(0);
}

/* Runs ad_call against a one-shot listener answering as mode says; returns the outcome, msg and dump. */
static enum ad_outcome call_with(enum reply mode, const char *host, unsigned server_uid, const char *munge_sock,
				 struct ad_buf *msg, char *dumped, size_t dlen)
{
	char server[128], dump[160], tout[] = "timeout_ms=3000";
	char arg_server[160], arg_munge[200], arg_uid[32];
	char *args[] = { arg_server, arg_munge, arg_uid, tout };
	struct ad_config c;
	char err[512];
	int port, lfd = listener(4, &port);
	pid_t pid;
	enum ad_outcome o;
	FILE *f;
	size_t n;

	snprintf(dump, sizeof(dump), "%s/dump", mg.dir);
	unlink(dump);
	snprintf(server, sizeof(server), "%s:%d", host, port);
	snprintf(arg_server, sizeof(arg_server), "server=%s", server);
	snprintf(arg_munge, sizeof(arg_munge), "munge_socket=%s", munge_sock);
	snprintf(arg_uid, sizeof(arg_uid), "server_uid=%u", server_uid);
	CHECK(ad_config_parse(&c, 4, args, err, sizeof(err)) == 0, "config: %s", err);
	pid = fork();
	if (pid == 0)
		answer(lfd, mode, dump);
	close(lfd);
	o = ad_call(&c, "/v1/requests", "{\"paths\":[\"/jfs/a\"]}", msg);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	f = fopen(dump, "r");
	n = f ? fread(dumped, 1, dlen - 1, f) : 0;
	dumped[n] = '\0';
	if (f)
		fclose(f);
	ad_config_free(&c);
	return o;
}

void test_call(void)
{
	struct ad_buf msg = { 0 };
	char dumped[4096], want[512], sum[2 * AD_SHA256_LEN + 1];
	unsigned char d[AD_SHA256_LEN];
	const char *body = "{\"paths\":[\"/jfs/a\"]}", *p;
	unsigned uid = (unsigned)getuid();
	enum ad_outcome o;

	CHECK(start_munged() == 0, "cannot start a private munged (is munge installed? run scripts/deps.sh)");
	if (mg.pid <= 0) {
		stop_munged();
		return;
	}

	/* warmupd's proven 2xx: queued; the credential decodes, names the request, is for server_uid only. */
	o = call_with(REPLY_OK, "127.0.0.1", uid, mg.sock, &msg, dumped, sizeof(dumped));
	CHECK(o == AD_QUEUED, "ok: %d %s", o, msg.data);
	ad_sha256(body, strlen(body), d);
	ad_hex(d, sizeof(d), sum);
	snprintf(want, sizeof(want), "decode=0 restrict=%u\naccel-data-auth v1\nmethod POST\npath /v1/requests\n"
		 "body-sha256 %s\nnonce ", uid, sum);
	CHECK(strncmp(dumped, want, strlen(want)) == 0, "credential as warmupd sees it:\n%s\nwant it to start\n%s", dumped, want);
	p = dumped + strlen(want);
	CHECK(strlen(p) == 32 + 1 + 10 + 64 + 1 && strspn(p, "0123456789abcdef") == 32 &&
	      strncmp(p + 32, "\nreply-key ", 11) == 0 && strspn(p + 43, "0123456789abcdef") == 64 && p[107] == '\n',
	      "nonce and reply-key lines: %s", p);

	/* The same through a name (localhost: getaddrinfo_a, each address in turn) and a chunked answer. */
	o = call_with(REPLY_CHUNKED, "localhost", uid, mg.sock, &msg, dumped, sizeof(dumped));
	CHECK(o == AD_QUEUED, "chunked via localhost: %d %s", o, msg.data);

	/* The credential is for server_uid only: not even root can decode one made for uid 4242. */
	o = call_with(REPLY_OK, "127.0.0.1", 4242, mg.sock, &msg, dumped, sizeof(dumped));
	snprintf(want, sizeof(want), "decode=%d ", (int)EMUNGE_CRED_UNAUTHORIZED);
	CHECK(starts(dumped, want), "uid restriction: %s", dumped);

	/* A proven 4xx is the user's error, with warmupd's words. */
	o = call_with(REPLY_REFUSE, "127.0.0.1", uid, mg.sock, &msg, dumped, sizeof(dumped));
	CHECK(o == AD_REFUSED && msg.data && strcmp(msg.data, "/x: outside the mounts") == 0, "refuse: %d %s", o, msg.data);

	o = call_with(REPLY_503, "127.0.0.1", uid, mg.sock, &msg, dumped, sizeof(dumped));
	CHECK(o == AD_WARNED && strstr(msg.data, "warmupd answered HTTP 503; the job is submitted"), "503: %d %s", o, msg.data);

	/* No proof, a wrong one, or one for another status: not warmupd, a warning, even for a 4xx. */
	for (int m = REPLY_BADPROOF; m <= REPLY_OTHER_STATUS; m++) {
		o = call_with((enum reply)m, "127.0.0.1", uid, mg.sock, &msg, dumped, sizeof(dumped));
		CHECK(o == AD_WARNED && msg.data && starts(msg.data, "warning: the server at 127.0.0.1:") &&
		      strstr(msg.data, " did not prove it is warmupd (wrong MUNGE key, or another program on the port); ") &&
		      strchr(msg.data, '\n') == NULL, "mode %d: %d %s", m, o, msg.data);
	}

	/* 401: the server's words, marked unverified, control characters defused. */
	o = call_with(REPLY_401, "127.0.0.1", uid, mg.sock, &msg, dumped, sizeof(dumped));
	CHECK(o == AD_WARNED && msg.data &&
	      starts(msg.data, "warning: warmupd (unverified) refused the credential: credential replayed?[31m; "),
	      "401: %d %s", o, msg.data);

	/* munged down on this host: one warning, and warmupd is not even asked. */
	o = call_with(REPLY_OK, "127.0.0.1", uid, "/nonexistent/munge.sock", &msg, dumped, sizeof(dumped));
	CHECK(o == AD_WARNED && msg.data &&
	      starts(msg.data, "cannot make a MUNGE credential (munged not running on this host?): ") &&
	      strstr(msg.data, "/nonexistent/munge.sock") && strstr(msg.data, "; the job is submitted without warm-up") &&
	      strchr(msg.data, '\n') == NULL, "munged down: %d %s", o, msg.data);
	CHECK(dumped[0] == '\0', "warmupd was called without a credential: %s", dumped);

	/* A silent server: the credential and the wait share timeout_ms, and the line names timeout_ms itself. */
	{
		char arg_server[64], arg_munge[200], tout[] = "timeout_ms=400", err[256];
		char *args[] = { arg_server, arg_munge, tout };
		struct ad_config c;
		int port, lfd = listener(16, &port);
		long long t0;

		snprintf(arg_server, sizeof(arg_server), "server=127.0.0.1:%d", port);
		snprintf(arg_munge, sizeof(arg_munge), "munge_socket=%s", mg.sock);
		CHECK(ad_config_parse(&c, 3, args, err, sizeof(err)) == 0, "config: %s", err);
		t0 = ms();
		o = ad_call(&c, "/v1/requests", body, &msg);
		CHECK(o == AD_WARNED && strstr(msg.data, "warning: warmupd did not answer (no answer from 127.0.0.1:") &&
		      strstr(msg.data, " within 400 ms)"), "silent server: %d %s", o, msg.data);
		CHECK(ms() - t0 >= 350 && ms() - t0 < 2000, "silent server: %lld ms, want about 400", ms() - t0);
		close(lfd);
		ad_config_free(&c);
	}

	stop_munged();
	ad_buf_free(&msg);
}

/*
 * A munged that is gone but left its socket (connect refused: libmunge
 * retries for about 2 s) or that hangs (accepted, never answered) cannot
 * hold the submission past timeout_ms.
 */
void test_munged_stuck(void)
{
	char dir[] = "/tmp/accel-munge-stuck-XXXXXX", sock[128], arg_munge[160], arg_server[64];
	char tout[] = "timeout_ms=400", uid0[] = "server_uid=0";
	char *args[] = { arg_server, arg_munge, uid0, tout };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ad_buf msg = { 0 };
	struct ad_config c;
	char err[256];
	int port, lfd, ufd;
	long long t0;
	enum ad_outcome o;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(sock, sizeof(sock), "%s/munge.sock", dir);
	snprintf(arg_munge, sizeof(arg_munge), "munge_socket=%s", sock);
	lfd = listener(4, &port); /* never reached: the credential fails first */
	snprintf(arg_server, sizeof(arg_server), "server=127.0.0.1:%d", port);
	CHECK(ad_config_parse(&c, 4, args, err, sizeof(err)) == 0, "config: %s", err);
	memcpy(a.sun_path, sock, strlen(sock) + 1);

	for (int hung = 0; hung <= 1; hung++) {
		ufd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(bind(ufd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s", sock);
		if (hung)
			CHECK(listen(ufd, 16) == 0, "listen");
		else
			close(ufd); /* the socket file stays, nobody listens: a munged killed with -9 */
		t0 = ms();
		o = ad_call(&c, "/v1/requests", "{}", &msg);
		CHECK(o == AD_WARNED && starts(msg.data, "cannot make a MUNGE credential (munged not running on this host?): ") &&
		      strstr(msg.data, "munged did not answer in time"), "%s munged: %d %s", hung ? "hung" : "stale", o, msg.data);
		CHECK(ms() - t0 < 1500, "%s munged held the call %lld ms (timeout_ms=400)", hung ? "hung" : "stale", ms() - t0);
		if (hung)
			close(ufd);
		unlink(sock);
	}
	close(lfd);
	rmdir(dir);
	ad_config_free(&c);
	ad_buf_free(&msg);
}
