/* cred.h: the MUNGE credential of a request over TCP, made within the submission's deadline. */
#ifndef ACCEL_DATA_CRED_H
#define ACCEL_DATA_CRED_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Encodes payload into a MUNGE credential ("MUNGE:...:") that only uid can
 * decode, through the munged at munge_socket (NULL: libmunge's default),
 * before the deadline (ad_now_ms() clock). Returns 0 with *cred to free(),
 * or -1 with the reason (libmunge's, or munged's silence) in err.
 */
int ad_munge_encode(const struct ad_buf *payload, const char *munge_socket, uid_t uid, long long deadline,
		    char **cred, char *err, size_t errlen);

#endif
