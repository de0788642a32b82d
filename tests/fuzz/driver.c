/* SPDX-License-Identifier: MIT */
/*
 * driver.c - the standalone runner for the fuzz targets in tests/fuzz/.
 *
 * Linked with one fuzz_<target>.c (which defines LLVMFuzzerTestOneInput,
 * the libFuzzer entry point), it makes the target a plain test that needs
 * neither clang nor libFuzzer:
 *
 *   1. every file of the corpus directories (or files) named on the
 *      command line is fed to the target once, in name order, so inputs
 *      that crashed before stay fixed;
 *   2. then N pseudo-random mutations of the corpus are fed to it: bit
 *      flips, random and "interesting" bytes, inserts, deletes, duplicated
 *      ranges, splices between corpus files, dictionary tokens and
 *      truncation. The mutations depend only on the seed and the corpus,
 *      never on what the target does, so a run is reproducible. Files
 *      whose name starts with "slow-" (inputs that are expensive by design,
 *      such as a validation budget regression) are replayed but never
 *      mutated or spliced.
 *
 * There is no coverage feedback: this is a regression guard and a smoke
 * fuzzer for every build (including ASan+UBSan). Real fuzzing is libFuzzer
 * (`make fuzz`, docs/tests.md "Fuzzing").
 *
 * Usage: fuzz_<target> [-n N] [-s SEED] [-m MAXLEN] [-x DICT] [-v]
 *                      [-w ITER FILE] DIR|FILE...
 *   -n  mutations to run (default $CG_FUZZ_ITERATIONS, else 10000)
 *   -s  seed (default $CG_FUZZ_SEED, else 1)
 *   -m  largest input generated, in bytes (default 65536 + 4096)
 *   -x  a libFuzzer dictionary ("token" lines) to draw tokens from
 *   -v  print every input's name or iteration number before running it
 *   -w  write the input of mutation ITER (1-based) to FILE and exit without
 *       running anything: with -v this turns a crash into a corpus file
 *
 * Each input is passed in a malloc'd buffer of exactly its size, so ASan
 * catches a read one byte past the end. Nothing here is global: the state
 * lives in main()'s struct run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEFAULT_ITERATIONS 10000
#define DEFAULT_MAX_LEN    (65536 + 4096)
#define MAX_STACKED        8 /* mutations applied to one input, at most */
#define MAX_TOKENS         512
#define MAX_TOKEN_LEN      128

/* A byte string (owned). */
struct blob {
    uint8_t *data;
    size_t len;
    char *name; /* corpus file path, NULL for dictionary tokens */
};

/* A growable list of blobs (owned). */
struct blobs {
    struct blob *items;
    size_t n, cap;
};

/* Everything one run needs. */
struct run {
    struct blobs corpus; /* the seed inputs, sorted by name */
    struct blobs pool;   /* the ones mutations start from (no "slow-" files) */
    struct blobs tokens; /* dictionary tokens (built-in + -x file) */
    uint64_t rng;        /* splitmix64 state */
    size_t max_len;      /* largest generated input */
    int verbose;
};

/* The input being mutated. */
struct buf {
    uint8_t *data; /* owned, 'cap' bytes */
    size_t len, cap;
};

/* Bytes that often sit on parser edges. */
static const uint8_t interesting_bytes[] = {
    '{', '}', '[',  ']',  '"',  '\\', ':',  ',',  '0',  '9',  '-',  '+',  '.',  'e',  'E',
    '/', '~', '\n', '\r', '\t', ' ',  '=',  '#',  '\'', '`',  '%',  '*',  'u',  0x00, 0x01,
    '!', '{', 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf8, 0xff,
};

/* Tokens every target gets (JSON and number edge cases). */
static const char *const builtin_tokens[] = {
    "null",
    "true",
    "false",
    "\"\"",
    "{}",
    "[]",
    "\\u0000",
    "\\ud800",
    "\\udc00",
    "\\uffff",
    "\\\"",
    "-0",
    "0.0",
    "1e308",
    "1e309",
    "-1e-400",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "NaN",
    "+Inf",
    "-Inf",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x92\xa9",
    "\xed\xa0\x80",
    "\xc0\xaf",
};

/* ---- random numbers (splitmix64) ---------------------------------------- */

static uint64_t rnd(struct run *r)
{
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static size_t below(struct run *r, size_t n)
{
    return (size_t)(rnd(r) % n);
}

/* ---- blobs ----------------------------------------------------------------- */

static void die_nomem(void)
{
    fprintf(stderr, "fuzz driver: out of memory\n");
    exit(2);
}

static void blobs_add(struct blobs *b, const uint8_t *data, size_t len, const char *name)
{
    struct blob *it;

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct blob *items = realloc(b->items, cap * sizeof *items);
        if (!items) {
            die_nomem();
        }
        b->items = items;
        b->cap = cap;
    }
    it = &b->items[b->n];
    it->data = malloc(len ? len : 1);
    it->name = name ? strdup(name) : NULL;
    if (!it->data || (name && !it->name)) {
        die_nomem();
    }
    if (len) {
        memcpy(it->data, data, len);
    }
    it->len = len;
    b->n++;
}

static void blobs_free(struct blobs *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->items[i].data);
        free(b->items[i].name);
    }
    free(b->items);
    memset(b, 0, sizeof *b);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct blob *)a)->name, ((const struct blob *)b)->name);
}

/* Reads a whole file into a malloc'd buffer. Returns NULL on error. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            uint8_t *p;
            cap = cap ? cap * 2 : 4096;
            p = realloc(data, cap);
            if (!p) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = p;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(data);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return data;
}

static int load_file(struct blobs *b, const char *path)
{
    size_t len = 0;
    uint8_t *data = read_file(path, &len);

    if (!data) {
        fprintf(stderr, "fuzz driver: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    blobs_add(b, data, len, path);
    free(data);
    return 0;
}

/* Adds every regular file of 'path' (a directory, not recursive) or 'path'
 * itself. Files whose name starts with '.' are skipped. */
static int load_corpus(struct blobs *b, const char *path)
{
    struct stat st;
    DIR *dir;
    struct dirent *de;
    int rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return load_file(b, path);
    }
    dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "fuzz driver: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        char full[4096];
        if (de->d_name[0] == '.') {
            continue;
        }
        if ((size_t)snprintf(full, sizeof full, "%s/%s", path, de->d_name) >= sizeof full) {
            continue;
        }
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = load_file(b, full);
        }
    }
    closedir(dir);
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Loads a libFuzzer dictionary: lines [name=]"value" with \\, \" and \xAB
 * escapes; '#' starts a comment line. */
static int load_dict(struct blobs *b, const char *path)
{
    size_t len = 0, pos = 0;
    uint8_t *text = read_file(path, &len);

    if (!text) {
        fprintf(stderr, "fuzz driver: cannot read dictionary %s\n", path);
        return -1;
    }
    while (pos < len && b->n < MAX_TOKENS) {
        const uint8_t *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos, i = 0, k = 0;
        uint8_t tok[MAX_TOKEN_LEN];

        pos += n + (nl ? 1 : 0);
        while (i < n && line[i] != '"' && line[i] != '#') {
            i++;
        }
        if (i == n || line[i] == '#') {
            continue;
        }
        for (i++; i < n && line[i] != '"' && k < sizeof tok; i++) {
            if (line[i] == '\\' && i + 1 < n) {
                i++;
                if (line[i] == 'x' && i + 2 < n && hexval(line[i + 1]) >= 0 &&
                    hexval(line[i + 2]) >= 0) {
                    tok[k++] = (uint8_t)(hexval(line[i + 1]) * 16 + hexval(line[i + 2]));
                    i += 2;
                    continue;
                }
            }
            tok[k++] = line[i];
        }
        if (k > 0) {
            blobs_add(b, tok, k, NULL);
        }
    }
    free(text);
    return 0;
}

/* ---- mutations ------------------------------------------------------------- */

static void buf_reserve(struct buf *b, size_t need)
{
    if (need > b->cap || !b->data) {
        size_t cap = b->cap ? b->cap : 64;
        uint8_t *p;
        while (cap < need) {
            cap *= 2;
        }
        p = realloc(b->data, cap);
        if (!p) {
            die_nomem();
        }
        b->data = p;
        b->cap = cap;
    }
}

/* Inserts 'n' bytes at 'at', keeping the input within max_len. */
static void insert(struct run *r, struct buf *b, size_t at, const uint8_t *src, size_t n)
{
    if (b->len >= r->max_len) {
        return;
    }
    if (n > r->max_len - b->len) {
        n = r->max_len - b->len;
    }
    buf_reserve(b, b->len + n);
    memmove(b->data + at + n, b->data + at, b->len - at);
    memcpy(b->data + at, src, n);
    b->len += n;
}

static void erase(struct buf *b, size_t at, size_t n)
{
    memmove(b->data + at, b->data + at + n, b->len - at - n);
    b->len -= n;
}

/* A short length, biased towards small values. */
static size_t short_len(struct run *r, size_t max)
{
    size_t n = 1 + below(r, below(r, 4) == 0 ? 64 : 8);

    return n < max ? n : max;
}

/* Applies one random mutation to 'b'. */
static void mutate_once(struct run *r, struct buf *b)
{
    const struct blob *other = &r->pool.items[below(r, r->pool.n)];
    size_t at = below(r, b->len + 1);

    switch (below(r, 12)) {
    case 0: /* flip one bit */
        if (b->len) {
            at = below(r, b->len);
            b->data[at] ^= (uint8_t)(1u << below(r, 8));
        }
        break;
    case 1: /* one random byte */
        if (b->len) {
            b->data[below(r, b->len)] = (uint8_t)rnd(r);
        }
        break;
    case 2: /* one interesting byte, overwritten */
        if (b->len) {
            b->data[below(r, b->len)] = interesting_bytes[below(r, sizeof interesting_bytes)];
        }
        break;
    case 3: { /* one interesting byte, inserted */
        uint8_t c = interesting_bytes[below(r, sizeof interesting_bytes)];
        insert(r, b, at, &c, 1);
        break;
    }
    case 4: /* delete a range */
        if (b->len) {
            at = below(r, b->len);
            erase(b, at, short_len(r, b->len - at));
        }
        break;
    case 5: /* duplicate a range of the input somewhere else */
        if (b->len) {
            size_t from = below(r, b->len), n = short_len(r, b->len - from);
            uint8_t tmp[64];
            memcpy(tmp, b->data + from, n);
            insert(r, b, at, tmp, n);
        }
        break;
    case 6: /* splice: insert a range of another corpus file */
        if (other->len) {
            size_t from = below(r, other->len);
            insert(r, b, at, other->data + from, short_len(r, other->len - from));
        }
        break;
    case 7: /* crossover: our prefix, then another file's suffix */
        b->len = at;
        if (other->len) {
            size_t from = below(r, other->len);
            insert(r, b, b->len, other->data + from, other->len - from);
        }
        break;
    case 8: /* truncate */
        b->len = at;
        break;
    case 9: /* insert a dictionary or built-in token */
    case 10: {
        const struct blob *t = &r->tokens.items[below(r, r->tokens.n)];
        if (below(r, 2) == 0 && b->len >= t->len && t->len) {
            memcpy(b->data + below(r, b->len - t->len + 1), t->data, t->len);
        } else {
            insert(r, b, at, t->data, t->len);
        }
        break;
    }
    default: /* swap two bytes */
        if (b->len >= 2) {
            size_t i = below(r, b->len), j = below(r, b->len);
            uint8_t c = b->data[i];
            b->data[i] = b->data[j];
            b->data[j] = c;
        }
        break;
    }
}

/* Builds the next mutated input into 'b'. */
static void next_input(struct run *r, struct buf *b)
{
    const struct blob *base = &r->pool.items[below(r, r->pool.n)];
    size_t k = 1 + below(r, below(r, 4) == 0 ? MAX_STACKED : 3);

    b->len = 0;
    buf_reserve(b, base->len);
    if (base->len) {
        memcpy(b->data, base->data, base->len);
    }
    b->len = base->len < r->max_len ? base->len : r->max_len;
    while (k--) {
        mutate_once(r, b);
    }
}

/* Runs the target on an exact-size copy of the bytes. */
static void run_one(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);

    if (!copy) {
        die_nomem();
    }
    if (len) {
        memcpy(copy, data, len);
    }
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        fprintf(stderr, "fuzz driver: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz driver: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-') {
        return -1;
    }
    *out = v;
    return 0;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-n N] [-s SEED] [-m MAXLEN] [-x DICT] [-v] [-w ITER FILE] "
            "DIR|FILE...\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    struct run r;
    struct buf b = {0};
    uint64_t iterations = DEFAULT_ITERATIONS, seed = 1, max_len = DEFAULT_MAX_LEN, write_iter = 0;
    const char *env, *dict = NULL, *write_path = NULL;
    double t0 = now_s();
    int i, rc = 0;

    memset(&r, 0, sizeof r);
    env = getenv("CG_FUZZ_ITERATIONS");
    if (env && parse_u64(env, &iterations) != 0) {
        fprintf(stderr, "fuzz driver: bad CG_FUZZ_ITERATIONS\n");
        return 2;
    }
    env = getenv("CG_FUZZ_SEED");
    if (env && parse_u64(env, &seed) != 0) {
        fprintf(stderr, "fuzz driver: bad CG_FUZZ_SEED\n");
        return 2;
    }
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-v") == 0) {
            r.verbose = 1;
        } else if (strcmp(opt, "-w") == 0 && i + 2 < argc) {
            if (parse_u64(argv[i + 1], &write_iter) != 0 || write_iter == 0) {
                return usage(argv[0]);
            }
            write_path = argv[i + 2];
            i += 2;
        } else if (i + 1 < argc && strcmp(opt, "-x") == 0) {
            dict = argv[++i];
        } else if (i + 1 < argc && strcmp(opt, "-n") == 0) {
            if (parse_u64(argv[++i], &iterations) != 0) {
                return usage(argv[0]);
            }
        } else if (i + 1 < argc && strcmp(opt, "-s") == 0) {
            if (parse_u64(argv[++i], &seed) != 0) {
                return usage(argv[0]);
            }
        } else if (i + 1 < argc && strcmp(opt, "-m") == 0) {
            if (parse_u64(argv[++i], &max_len) != 0 || max_len == 0) {
                return usage(argv[0]);
            }
        } else {
            return usage(argv[0]);
        }
    }
    if (i == argc) {
        return usage(argv[0]);
    }
    for (; i < argc && rc == 0; i++) {
        rc = load_corpus(&r.corpus, argv[i]);
    }
    for (size_t k = 0; k < sizeof builtin_tokens / sizeof builtin_tokens[0]; k++) {
        blobs_add(&r.tokens, (const uint8_t *)builtin_tokens[k], strlen(builtin_tokens[k]), NULL);
    }
    if (rc == 0 && dict) {
        rc = load_dict(&r.tokens, dict);
    }
    if (rc == 0 && r.corpus.n == 0) {
        fprintf(stderr, "fuzz driver: the corpus is empty\n");
        rc = -1;
    }
    if (rc != 0) {
        blobs_free(&r.corpus);
        blobs_free(&r.tokens);
        return 2;
    }
    qsort(r.corpus.items, r.corpus.n, sizeof *r.corpus.items, by_name);
    for (size_t k = 0; k < r.corpus.n; k++) {
        const char *slash = strrchr(r.corpus.items[k].name, '/');
        const char *base = slash ? slash + 1 : r.corpus.items[k].name;
        if (strncmp(base, "slow-", 5) != 0) {
            blobs_add(&r.pool, r.corpus.items[k].data, r.corpus.items[k].len,
                      r.corpus.items[k].name);
        }
    }
    if (r.pool.n == 0) {
        iterations = 0; /* only "slow-" files: nothing to mutate */
    }
    r.rng = seed;
    r.max_len = (size_t)max_len;

    if (write_path && r.pool.n == 0) {
        fprintf(stderr, "fuzz driver: no corpus file to mutate\n");
        rc = -1;
    } else if (write_path) {
        for (uint64_t k = 1; k <= write_iter; k++) {
            next_input(&r, &b);
        }
        rc = write_file(write_path, b.data, b.len);
        if (rc == 0) {
            printf("wrote mutation %llu (seed %llu, %zu bytes) to %s\n",
                   (unsigned long long)write_iter, (unsigned long long)seed, b.len, write_path);
        }
    } else {
        printf("%s: replaying %zu corpus files, then %llu mutations (seed %llu); "
               "to save a crashing mutation: -v, then -w ITER FILE\n",
               argv[0], r.corpus.n, (unsigned long long)iterations, (unsigned long long)seed);
        fflush(stdout);
        for (size_t k = 0; k < r.corpus.n; k++) {
            if (r.verbose) {
                fprintf(stderr, "replay %s\n", r.corpus.items[k].name);
            }
            run_one(r.corpus.items[k].data, r.corpus.items[k].len);
        }
        for (uint64_t k = 1; k <= iterations; k++) {
            next_input(&r, &b);
            if (r.verbose) {
                fprintf(stderr, "mutation %llu (%zu bytes)\n", (unsigned long long)k, b.len);
            }
            run_one(b.data, b.len);
        }
        printf("%s: ok, %zu corpus files and %llu mutations in %.2f s\n", argv[0], r.corpus.n,
               (unsigned long long)iterations, now_s() - t0);
    }
    free(b.data);
    blobs_free(&r.corpus);
    blobs_free(&r.pool);
    blobs_free(&r.tokens);
    return rc == 0 ? 0 : 1;
}
