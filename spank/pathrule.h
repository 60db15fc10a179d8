/*
 * pathrule.h: the one rule for a single dataset path, and how a path is
 * shown in a message. warmupd applies the same rule (internal/server,
 * Canonical and ShowPath); both are tested from testdata/paths.tsv.
 */
#ifndef ACCEL_DATA_PATHRULE_H
#define ACCEL_DATA_PATHRULE_H

#include <stddef.h>

/* Longest path accepted, in bytes (PATH_MAX, like warmupd's MaxPathLen). */
#define AD_MAX_PATH_LEN 4096

/*
 * A path longer than AD_SHOW_MAX bytes is shown as its first AD_SHOW_HEAD
 * and last AD_SHOW_TAIL bytes around "…" (cut between characters), so the
 * reason after it is never lost. AD_SHOW_BUF holds any shown path.
 */
#define AD_SHOW_MAX 120
#define AD_SHOW_HEAD 64
#define AD_SHOW_TAIL 48
#define AD_SHOW_BUF (4 * (AD_SHOW_HEAD + AD_SHOW_TAIL) + 8)

/* Length of the well-formed UTF-8 character at s (at most n bytes), or 0. */
size_t ad_utf8_len(const unsigned char *s, size_t n);

/*
 * Writes s (n bytes) for a message into dst (at least AD_SHOW_BUF bytes):
 * control characters and bytes that are not UTF-8 become \xNN, a long path
 * is shortened in the middle.
 */
void ad_path_show(const char *s, size_t n, char *dst);

/*
 * Checks one path (n bytes at in) against the rule, in this order: not
 * empty, at most AD_MAX_PATH_LEN bytes, valid UTF-8, no control character,
 * absolute, no '..' component, and not ending in white space once '//',
 * '.' components and a trailing '/' are dropped (juicefs warmup trims its
 * list file's lines). Returns 0 with the cleaned path in *out (malloc'd),
 * or -1 with "<shown path>: <reason>" in err (when err is not NULL).
 */
int ad_path_check(const char *in, size_t n, char **out, char *err, size_t errlen);

/* ad_path_check of a NUL-terminated string, without a message. */
int ad_path_normalize(const char *in, char **out);

#endif
