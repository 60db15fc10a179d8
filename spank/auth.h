/*
 * auth.h: the MUNGE request authentication of warmupd's TCP door (contract:
 * notes of issue 9, rows in testdata/auth-vectors.tsv): the credential's
 * payload, and the proof warmupd returns with its answer.
 */
#ifndef ACCEL_DATA_AUTH_H
#define ACCEL_DATA_AUTH_H

#include <stddef.h>

#include "buf.h"
#include "sha256.h"

#define AD_NONCE_LEN 16     /* random bytes of the nonce */
#define AD_REPLY_KEY_LEN 32 /* random bytes of the reply key */

/* One request's secrets: the nonce (hex) and the key warmupd proves its answer with. */
struct ad_auth {
	char nonce[2 * AD_NONCE_LEN + 1];
	unsigned char reply_key[AD_REPLY_KEY_LEN];
};

/* Fills a with a fresh random nonce and reply key. Returns 0, or -1 (no randomness). */
int ad_auth_new(struct ad_auth *a);

/*
 * Writes the credential's payload for a request into out (replacing it):
 * "accel-data-auth v1\n", then method, path (the request URI as sent),
 * body-sha256, nonce and reply-key lines. Returns 0, or -1 when out of memory.
 */
int ad_auth_payload(struct ad_buf *out, const struct ad_auth *a, const char *method, const char *uri,
		    const char *body, size_t body_len);

/*
 * The proof (64 lower-case hex characters) warmupd sends in X-Accel-Data-Proof
 * for an answer with this status and body: HMAC-SHA256 under the reply key of
 * "accel-data-reply v1\n" nonce "\n" status "\n" hex-sha256(body) "\n".
 */
void ad_auth_proof(const struct ad_auth *a, int status, const char *body, size_t body_len,
		   char out[2 * AD_SHA256_LEN + 1]);

/* 1 when proof (the header's value, NULL when absent) is the right one; compared in constant time. */
int ad_auth_proof_ok(const struct ad_auth *a, int status, const char *body, size_t body_len, const char *proof);

#endif
