/* buf.c: a growable byte buffer. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int ad_buf_append(struct ad_buf *b, const char *s, size_t n)
{
	if (n > ((size_t)-1) / 2 - b->len - 1)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ad_buf_puts(struct ad_buf *b, const char *s)
{
	return ad_buf_append(b, s, strlen(s));
}

int ad_buf_putc(struct ad_buf *b, char c)
{
	return ad_buf_append(b, &c, 1);
}

void ad_buf_free(struct ad_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
