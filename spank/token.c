/* token.c: random bytes from getrandom(2), falling back to /dev/urandom; the 128-bit token. */
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "sha256.h"
#include "token.h"

int ad_random(unsigned char *b, size_t n)
{
	size_t off = 0;
	int fd;

	while (off < n) {
		ssize_t r = getrandom(b + off, n - off, 0);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	if (off == n)
		return 0;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (off < n) {
		ssize_t r = read(fd, b + off, n - off);
		if (r <= 0 && errno != EINTR) {
			close(fd);
			return -1;
		}
		if (r > 0)
			off += (size_t)r;
	}
	close(fd);
	return 0;
}

int ad_token(char out[AD_TOKEN_HEX + 1])
{
	unsigned char b[AD_TOKEN_HEX / 2];

	if (ad_random(b, sizeof(b)) != 0)
		return -1;
	ad_hex(b, sizeof(b), out);
	return 0;
}
