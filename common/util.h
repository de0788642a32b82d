/* SPDX-License-Identifier: MIT */
/*
 * util.h: small helpers with no better home: time, randomness, hex, strings.
 */
#ifndef CG_UTIL_H
#define CG_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wall-clock time in milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t cg_now_ms(void);

/* Monotonic time in milliseconds (CLOCK_MONOTONIC), for timeouts. */
int64_t cg_mono_ms(void);

/* Monotonic time in microseconds, for durations. */
int64_t cg_mono_us(void);

/* Formats 'ms' (epoch milliseconds) as RFC 3339 UTC with milliseconds,
 * e.g. "2026-11-22T14:55:28.123Z", into out (at least 32 bytes). */
void cg_time_format(int64_t ms, char out[32]);

/* Parses an RFC 3339 UTC timestamp ("...Z" or "+00:00"; fraction optional)
 * into epoch milliseconds. Returns 0, or -1 if it is not one. */
int cg_time_parse(const char *s, int64_t *ms);

/* Uniform random integer in [0, n) from libsodium's CSPRNG; 0 when n == 0.
 * Thread-safe. */
uint64_t cg_rand_below(uint64_t n);

/* Writes the lowercase hex of 'len' bytes into 'out' (2*len+1 bytes). */
void cg_hex_encode(const unsigned char *in, size_t len, char *out);

/* Decodes exactly 2*outlen hex chars from 'in'. Returns 0 or -1. */
int cg_hex_decode(const char *in, unsigned char *out, size_t outlen);

/* Copies at most size-1 bytes of src into dst and NUL-terminates (size>0).
 * Returns strlen(src), so truncation is (ret >= size). */
size_t cg_strlcpy(char *dst, const char *src, size_t size);

/* SHA-256 of 'len' bytes as 64 lowercase hex chars plus NUL. */
void cg_sha256_hex(const void *data, size_t len, char out[65]);

/* True if 's' is 64 lowercase hex chars. */
int cg_is_sha256_hex(const char *s);

/* True if 's' is a valid object name: 1..63 chars of [a-z0-9._-], starting
 * with a letter or digit. Used for cells, configs, plans and token names. */
int cg_valid_name(const char *s);

/* Reads a whole file into a malloc'd NUL-terminated buffer, failing (NULL,
 * errno = EFBIG) when it is larger than 'max' bytes. *len gets the size. */
char *cg_read_file(const char *path, size_t max, size_t *len);

/* A background thread's sleep: takes mu, waits on cv until *stopping is
 * set (by another thread, under mu, with a broadcast on cv) or ms
 * milliseconds have passed, releases mu. Returns *stopping. */
int cg_wait_stop_ms(pthread_mutex_t *mu, pthread_cond_t *cv, const int *stopping, int64_t ms);

/* fsyncs the directory that holds 'path' (after a rename into it), so
 * the new name survives a power loss; errors are ignored (best effort). */
void cg_fsync_dir_of(const char *path);

/* Writes 'len' bytes to 'path' atomically: path.tmp, fsync, rename,
 * fsync of the directory. 'mode' is the file mode. Returns 0 or -1 (errno). */
int cg_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

#endif /* CG_UTIL_H */
