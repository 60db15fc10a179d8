/* json.h: the little JSON the plugin writes and reads. */
#ifndef ACCEL_DATA_JSON_H
#define ACCEL_DATA_JSON_H

#include "buf.h"
#include "paths.h"

/* Appends s as a JSON string literal (quotes included). Returns 0 or -1. */
int ad_json_string(struct ad_buf *b, const char *s);

/* Builds {"paths":[...],"token":"...","source":"submit"} into b. Returns 0 or -1. */
int ad_json_request(struct ad_buf *b, const struct ad_paths *p, const char *token);

/*
 * Finds the top-level string member key in a JSON object and appends its
 * unescaped value to out (\uXXXX outside ASCII becomes '?'). Returns 0 when
 * found, -1 otherwise.
 */
int ad_json_get_string(const char *json, const char *key, struct ad_buf *out);

/*
 * Writes the user's message for warmupd's 4xx answer (resp, may be NULL) into
 * out: its "error", preceded by the shown "path" unless the error already
 * starts with it, or the bare status when the answer is not JSON.
 * Returns 0, or -1 when out of memory.
 */
int ad_rejection_text(int status, const char *resp, struct ad_buf *out);

#endif
