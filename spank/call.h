/* call.h: one submission's call to warmupd (unix socket, or TCP + MUNGE) and the line it ends in. */
#ifndef ACCEL_DATA_CALL_H
#define ACCEL_DATA_CALL_H

#include "buf.h"
#include "config.h"

enum ad_outcome {
	AD_QUEUED,  /* warmupd accepted the request */
	AD_REFUSED, /* warmupd (verified) refused the user's input: msg is the user's error */
	AD_WARNED,  /* no warm-up now (warmupd or munged down, impostor, 401, 5xx): msg is one warning */
};

/*
 * POSTs body to uri on warmupd as cfg says: over cfg->socket, or with
 * cfg->server set over TCP with a MUNGE credential (made with
 * cfg->munge_socket, for cfg->server_uid), checking warmupd's proof. All of it
 * (credential, name lookup, connect, send, answer) is bounded by
 * cfg->timeout_ms. Writes the one line to print (without "accel-data: ") into
 * msg, except for AD_QUEUED.
 */
enum ad_outcome ad_call(const struct ad_config *cfg, const char *uri, const char *body, struct ad_buf *msg);

#endif
