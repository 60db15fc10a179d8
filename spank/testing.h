/* testing.h: the CHECK macro shared by the plugin's unit test files. */
#ifndef ACCEL_DATA_TESTING_H
#define ACCEL_DATA_TESTING_H

#include <stdio.h>

extern int failures, checks;

#define CHECK(cond, ...) do { \
	checks++; \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n"); \
	} \
} while (0)

/* test_auth.c: SHA-256/HMAC, the shared auth vectors, TCP bounds and the MUNGE call. */
void test_sha256(void);
void test_auth_vectors(void);
void test_server_config(void);
void test_tcp_bounds(void);
void test_call(void);
void test_munged_stuck(void);

#endif
