/* pathrule.c: the one rule for a single dataset path, and how a path is shown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pathrule.h"

size_t ad_utf8_len(const unsigned char *s, size_t n)
{
	/* Well-formed sequences (Unicode Table 3-7): no overlongs, surrogates or values above U+10FFFF. */
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (n == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Appends s[0..n) to dst at *o, with odd bytes as \xNN. */
static void show_part(const unsigned char *s, size_t n, char *dst, size_t *o)
{
	for (size_t i = 0; i < n;) {
		size_t k = ad_utf8_len(s + i, n - i);

		if (k == 0 || (k == 1 && is_control(s[i]))) {
			*o += (size_t)sprintf(dst + *o, "\\x%02x", s[i]);
			i++;
			continue;
		}
		memcpy(dst + *o, s + i, k);
		*o += k;
		i += k;
	}
}

void ad_path_show(const char *s, size_t n, char *dst)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, head = AD_SHOW_HEAD, tail;

	if (n <= AD_SHOW_MAX) {
		show_part(u, n, dst, &o);
		dst[o] = '\0';
		return;
	}
	/* Cut between characters: at most 3 bytes back (head) or forward (tail). */
	for (int k = 0; k < 3 && head > 0 && (u[head] & 0xc0) == 0x80; k++)
		head--;
	tail = n - AD_SHOW_TAIL;
	for (int k = 0; k < 3 && tail < n && (u[tail] & 0xc0) == 0x80; k++)
		tail++;
	show_part(u, head, dst, &o);
	memcpy(dst + o, "\xe2\x80\xa6", 3); /* … */
	o += 3;
	show_part(u + tail, n - tail, dst, &o);
	dst[o] = '\0';
}

/* Does the cleaned path end in a character Go's unicode.IsSpace (and juicefs's TrimSpace) counts as space? */
static int ends_in_space(const char *p, size_t n)
{
	static const char *const wide[] = {
		"\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
		"\xe2\x81\x9f", "\xe3\x80\x80",
	};

	if (n > 0 && p[n - 1] == ' ')
		return 1;
	/* U+2000..U+200A */
	if (n >= 3 && (unsigned char)p[n - 3] == 0xe2 && (unsigned char)p[n - 2] == 0x80 &&
	    (unsigned char)p[n - 1] >= 0x80 && (unsigned char)p[n - 1] <= 0x8a)
		return 1;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		size_t k = strlen(wide[i]);
		if (n >= k && memcmp(p + n - k, wide[i], k) == 0)
			return 1;
	}
	return 0;
}

/* Collapses '//', drops '.' and a trailing '/'; -1 on a '..' component, -2 when out of memory. */
static int clean(const char *in, size_t n, struct ad_buf *b)
{
	const char *p = in, *end = in + n;

	while (p < end) {
		const char *start, *slash;
		size_t k;

		while (p < end && *p == '/')
			p++;
		if (p == end)
			break;
		start = p;
		slash = memchr(p, '/', (size_t)(end - p));
		p = slash ? slash : end;
		k = (size_t)(p - start);
		if (k == 1 && start[0] == '.')
			continue;
		if (k == 2 && start[0] == '.' && start[1] == '.')
			return -1;
		if (ad_buf_putc(b, '/') != 0 || ad_buf_append(b, start, k) != 0)
			return -2;
	}
	if (b->len == 0 && ad_buf_putc(b, '/') != 0)
		return -2;
	return 0;
}

int ad_path_check(const char *in, size_t n, char **out, char *err, size_t errlen)
{
	const unsigned char *u = (const unsigned char *)in;
	struct ad_buf b = { 0 };
	const char *reason = NULL;
	char shown[AD_SHOW_BUF];
	char size[96];

	*out = NULL;
	if (n == 0) {
		if (err != NULL)
			snprintf(err, errlen, "empty path: name a dataset directory or file");
		return -1;
	}
	if (n > AD_MAX_PATH_LEN) {
		snprintf(size, sizeof(size), "path is %zu bytes, longer than the %d allowed", n, AD_MAX_PATH_LEN);
		reason = size;
	}
	for (size_t i = 0; reason == NULL && i < n;) {
		size_t k = ad_utf8_len(u + i, n - i);
		if (k == 0)
			reason = "path is not valid UTF-8 (bad bytes shown as \\xNN): rename it, or name a parent directory";
		i += k ? k : 1;
	}
	for (size_t i = 0; reason == NULL && i < n; i++)
		if (is_control(u[i]))
			reason = "path contains a control character (shown as \\xNN): rename it, or name a parent directory";
	if (reason == NULL && in[0] != '/')
		reason = "path is relative: give an absolute path such as /jfs/datasets/imagenet";
	if (reason == NULL) {
		int rc = clean(in, n, &b);
		if (rc == -1)
			reason = "path contains '..': give the dataset's real absolute path";
		else if (rc != 0)
			reason = "out of memory";
	}
	if (reason == NULL && ends_in_space(b.data, b.len))
		reason = "path ends in white space, which juicefs warmup cannot read from its list file: rename it";
	if (reason != NULL) {
		if (err != NULL) {
			ad_path_show(in, n, shown);
			snprintf(err, errlen, "%s: %s", shown, reason);
		}
		ad_buf_free(&b);
		return -1;
	}
	*out = b.data;
	return 0;
}

int ad_path_normalize(const char *in, char **out)
{
	return ad_path_check(in, strlen(in), out, NULL, 0);
}
