/* auth.c: the MUNGE credential's payload and the check of warmupd's proof (see auth.h). */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "token.h"

int ad_auth_new(struct ad_auth *a)
{
	unsigned char nonce[AD_NONCE_LEN];

	if (ad_random(nonce, sizeof(nonce)) != 0 || ad_random(a->reply_key, sizeof(a->reply_key)) != 0)
		return -1;
	ad_hex(nonce, sizeof(nonce), a->nonce);
	return 0;
}

int ad_auth_payload(struct ad_buf *out, const struct ad_auth *a, const char *method, const char *uri,
		    const char *body, size_t body_len)
{
	unsigned char sum[AD_SHA256_LEN];
	char sum_hex[2 * AD_SHA256_LEN + 1], key_hex[2 * AD_REPLY_KEY_LEN + 1];
	int rv;

	ad_sha256(body, body_len, sum);
	ad_hex(sum, sizeof(sum), sum_hex);
	ad_hex(a->reply_key, sizeof(a->reply_key), key_hex);
	out->len = 0;
	rv = ad_buf_puts(out, "accel-data-auth v1\nmethod ") || ad_buf_puts(out, method) ||
	     ad_buf_puts(out, "\npath ") || ad_buf_puts(out, uri) ||
	     ad_buf_puts(out, "\nbody-sha256 ") || ad_buf_puts(out, sum_hex) ||
	     ad_buf_puts(out, "\nnonce ") || ad_buf_puts(out, a->nonce) ||
	     ad_buf_puts(out, "\nreply-key ") || ad_buf_puts(out, key_hex) || ad_buf_puts(out, "\n");
	return rv ? -1 : 0;
}

void ad_auth_proof(const struct ad_auth *a, int status, const char *body, size_t body_len,
		   char out[2 * AD_SHA256_LEN + 1])
{
	unsigned char sum[AD_SHA256_LEN], mac[AD_SHA256_LEN];
	char sum_hex[2 * AD_SHA256_LEN + 1];
	char msg[sizeof("accel-data-reply v1\n") + sizeof(a->nonce) + 16 + sizeof(sum_hex) + 2];
	int n;

	ad_sha256(body, body_len, sum);
	ad_hex(sum, sizeof(sum), sum_hex);
	n = snprintf(msg, sizeof(msg), "accel-data-reply v1\n%s\n%d\n%s\n", a->nonce, status, sum_hex);
	ad_hmac_sha256(a->reply_key, sizeof(a->reply_key), msg, (size_t)n, mac);
	ad_hex(mac, sizeof(mac), out);
}

int ad_auth_proof_ok(const struct ad_auth *a, int status, const char *body, size_t body_len, const char *proof)
{
	char want[2 * AD_SHA256_LEN + 1];

	if (proof == NULL || strlen(proof) != 2 * AD_SHA256_LEN)
		return 0;
	ad_auth_proof(a, status, body, body_len, want);
	return ad_ct_equal(want, proof, 2 * AD_SHA256_LEN);
}
