/* token.h: random bytes and the random per-submission token. */
#ifndef ACCEL_DATA_TOKEN_H
#define ACCEL_DATA_TOKEN_H

/* Length of the token in hex characters (128 bits). */
#define AD_TOKEN_HEX 32

#include <stddef.h>

/* Fills b with n random bytes (getrandom(2), else /dev/urandom). Returns 0 or -1. */
int ad_random(unsigned char *b, size_t n);

/* Writes 32 hex characters and a NUL into out (33 bytes). Returns 0 or -1. */
int ad_token(char out[AD_TOKEN_HEX + 1]);

#endif
