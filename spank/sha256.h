/* sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for the MUNGE payload and warmupd's proof. */
#ifndef ACCEL_DATA_SHA256_H
#define ACCEL_DATA_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AD_SHA256_LEN 32

struct ad_sha256 {
	uint32_t h[8];
	uint64_t total;         /* bytes hashed so far */
	unsigned char blk[64];  /* the partial block */
	size_t n;               /* bytes in blk */
};

void ad_sha256_init(struct ad_sha256 *s);
void ad_sha256_update(struct ad_sha256 *s, const void *data, size_t len);
void ad_sha256_final(struct ad_sha256 *s, unsigned char out[AD_SHA256_LEN]);
/* One-shot SHA-256 of data. */
void ad_sha256(const void *data, size_t len, unsigned char out[AD_SHA256_LEN]);
/* HMAC-SHA256 of msg under key (any length). */
void ad_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[AD_SHA256_LEN]);
/* Writes n bytes as 2n lower-case hex characters and a NUL into out. */
void ad_hex(const unsigned char *b, size_t n, char *out);
/* 1 when the n bytes at a and b are equal; the time taken does not depend on where they differ. */
int ad_ct_equal(const void *a, const void *b, size_t n);

#endif
