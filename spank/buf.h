/* buf.h: a growable byte buffer, so no input length can overflow a fixed array. */
#ifndef ACCEL_DATA_BUF_H
#define ACCEL_DATA_BUF_H

#include <stddef.h>

struct ad_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
};

/* Appends n bytes; returns 0, or -1 when out of memory. */
int ad_buf_append(struct ad_buf *b, const char *s, size_t n);
/* Appends a NUL-terminated string. */
int ad_buf_puts(struct ad_buf *b, const char *s);
/* Appends one byte. */
int ad_buf_putc(struct ad_buf *b, char c);
/* Frees the buffer and zeroes it. */
void ad_buf_free(struct ad_buf *b);

#endif
