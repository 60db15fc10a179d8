/* token.h: the random per-submission token. */
#ifndef ACCEL_DATA_TOKEN_H
#define ACCEL_DATA_TOKEN_H

/* Length of the token in hex characters (128 bits). */
#define AD_TOKEN_HEX 32

/* Writes 32 hex characters and a NUL into out (33 bytes). Returns 0 or -1. */
int ad_token(char out[AD_TOKEN_HEX + 1]);

#endif
