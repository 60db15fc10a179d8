/*
 * cred.c: munge_encode in a child process. libmunge has no timeout: on a
 * stale socket (munged killed) it retries for about 2 s, and a hung munged
 * would hold sbatch longer. The child is killed at the deadline instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <munge.h>

#include "cred.h"
#include "http.h"

/* Most bytes of the child's answer (a credential is about 1.4 times its payload). */
#define AD_MAX_CRED (64 * 1024)

/* The child: encodes, writes "+credential" or "-reason" to fd, exits. */
static void encode_child(int fd, const struct ad_buf *payload, const char *munge_socket, uid_t uid)
{
	munge_ctx_t ctx = munge_ctx_create();
	munge_err_t e = EMUNGE_NO_MEMORY;
	char *cred = NULL;
	const char *why;

	if (ctx != NULL && (munge_socket == NULL || (e = munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket)) == EMUNGE_SUCCESS) &&
	    (e = munge_ctx_set(ctx, MUNGE_OPT_UID_RESTRICTION, uid)) == EMUNGE_SUCCESS)
		e = munge_encode(&cred, ctx, payload->data, (int)payload->len);
	if (e == EMUNGE_SUCCESS) {
		if (dprintf(fd, "+%s", cred) < 0)
			_exit(1);
		_exit(0);
	}
	why = ctx ? munge_ctx_strerror(ctx) : NULL;
	if (dprintf(fd, "-%s", why ? why : munge_strerror(e)) < 0)
		_exit(1);
	_exit(0);
}

int ad_munge_encode(const struct ad_buf *payload, const char *munge_socket, uid_t uid, long long deadline,
		    char **cred, char *err, size_t errlen)
{
	int rv = -1, p[2];
	struct ad_buf in = { 0 };
	pid_t pid;

	*cred = NULL;
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		encode_child(p[1], payload, munge_socket, uid);
	}
	close(p[1]);
	for (;;) {
		char chunk[4096];
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		long long left = deadline - ad_now_ms();
		ssize_t n;
		int r;

		if (left <= 0 || (r = poll(&pfd, 1, (int)left)) == 0) {
			snprintf(err, errlen, "munged did not answer in time (its socket %s may be stale or munged hung)",
				 munge_socket ? munge_socket : "(libmunge's default)");
			goto done;
		}
		if (r < 0 && errno == EINTR)
			continue;
		n = r < 0 ? -1 : read(p[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading the credential: %s", strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (in.len + (size_t)n > AD_MAX_CRED || ad_buf_append(&in, chunk, (size_t)n) != 0) {
			snprintf(err, errlen, "credential too large or out of memory");
			goto done;
		}
	}
	if (in.data != NULL && in.data[0] == '+' && in.len > 1) {
		*cred = strdup(in.data + 1);
		if (*cred == NULL)
			snprintf(err, errlen, "out of memory");
		else
			rv = 0;
	} else if (in.data != NULL && in.data[0] == '-') {
		snprintf(err, errlen, "%s", in.data + 1);
	} else {
		snprintf(err, errlen, "the process encoding the credential died");
	}
done:
	close(p[0]);
	kill(pid, SIGKILL); /* our own child, by its pid: it has exited already, or missed the deadline */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	ad_buf_free(&in);
	return rv;
}
