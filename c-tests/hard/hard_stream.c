// hard_stream: bulk data through the resumed-read path under a signal storm.
// Used by c-tests/hard/t_hard_stream.sh.
//
//   hard_stream gen ID BYTES
//       Write stream ID (BYTES bytes of a deterministic pseudo-random
//       sequence) to stdout, for `sha256sum`.
//   hard_stream run THREADS BYTES [--eintr-fatal] [HZ]
//       A forked sender process listens on loopback; THREADS receiver threads
//       each connect to it, ask for stream ID (their index) and read BYTES
//       bytes plus the EOF with blocking calls: thread k uses read, recv,
//       readv, recvmsg, recvfrom (k mod 5), with a buffer of a random size
//       (1 B to 64 KB) each call. The sender writes in random chunks with
//       short pauses, so the receivers are mostly blocked in their reads.
//       Meanwhile a storm process (another process, as a terminal's or
//       logrotate's signals come from another process) sends every receiver
//       thread SIGUSR1 and SIGWINCH in turn with tgkill at HZ per thread (default 1000; handlers without
//       SA_RESTART, SIGUSR1's with SA_SIGINFO).
//       Each receiver hashes what it read (SHA-256) and prints
//         stream K sha256=HEX bytes=N eintr=E signals=S method=M
//       then "total bytes=N eintr=E signals=S ms=T".
//       An EINTR from a read is retried and counted; with --eintr-fatal it
//       ends that stream as a failure (the MySQL client of the SIGWINCH story treats
//       it as fatal). Exit 0 if every stream got exactly BYTES bytes then
//       EOF, the storm delivered signals, and (with --eintr-fatal) no EINTR
//       was seen; 1 otherwise (reasons as "FAIL: ..."); 2 on setup errors.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXT 16

// ---- SHA-256 (FIPS 180-4), small and plain
typedef struct {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
} sha256;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(sha256 *s, const unsigned char *p) {
    uint32_t w[64], a, b, c, d, e, f, g, h;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
    s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(sha256 *s) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->len = 0;
    s->n = 0;
}

static void sha_update(sha256 *s, const void *data, size_t len) {
    const unsigned char *p = data;
    s->len += len;
    if (s->n) {
        size_t take = 64 - s->n < len ? 64 - s->n : len;
        memcpy(s->buf + s->n, p, take);
        s->n += take, p += take, len -= take;
        if (s->n == 64) sha_block(s, s->buf), s->n = 0;
    }
    while (len >= 64) sha_block(s, p), p += 64, len -= 64;
    if (len) memcpy(s->buf, p, len), s->n = len;
}

static void sha_final(sha256 *s, char hex[65]) {
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];
    sha_update(s, &pad, 1);
    while (s->n != 56) sha_update(s, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(s, lenb, 8);
    for (int i = 0; i < 8; i++) sprintf(hex + 8 * i, "%08x", s->h[i]);
}

// ---- the streams: xorshift64*, 8 bytes per step
typedef struct {
    uint64_t x;
} prng;
static void prng_seed(prng *r, uint64_t seed) { r->x = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL; }
static uint64_t prng_next(prng *r) {
    r->x ^= r->x >> 12;
    r->x ^= r->x << 25;
    r->x ^= r->x >> 27;
    return r->x * 0x2545F4914F6CDD1DULL;
}
// Stream bytes: position-independent generation in 8-byte words.
typedef struct {
    prng r;
    unsigned char w[8];
    int left;
} stream;
static void stream_init(stream *s, int id) { prng_seed(&s->r, 1000 + id), s->left = 0; }
static void stream_fill(stream *s, unsigned char *p, size_t n) {
    while (n--) {
        if (!s->left) {
            uint64_t v = prng_next(&s->r);
            memcpy(s->w, &v, 8);
            s->left = 8;
        }
        *p++ = s->w[8 - s->left--];
    }
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void die(const char *what) {
    fprintf(stderr, "hard_stream: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int mode_gen(int id, long long bytes) {
    stream s;
    stream_init(&s, id);
    static unsigned char buf[65536];
    while (bytes > 0) {
        size_t n = bytes < (long long)sizeof buf ? (size_t)bytes : sizeof buf;
        stream_fill(&s, buf, n);
        if (fwrite(buf, 1, n, stdout) != n) die("fwrite");
        bytes -= (long long)n;
    }
    return 0;
}

// ---- sender (child process): one thread per connection
struct sendjob {
    int fd;
    long long bytes;
};

static void *sender(void *arg) {
    struct sendjob *j = arg;
    int id;
    size_t got = 0;
    while (got < sizeof id) {
        ssize_t r = read(j->fd, (char *)&id + got, sizeof id - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) _exit(5);
        got += (size_t)r;
    }
    stream s;
    stream_init(&s, id);
    prng chunk;
    prng_seed(&chunk, 77 + id);
    static __thread unsigned char buf[65536];
    long long left = j->bytes, since_pause = 0;
    while (left > 0) {
        size_t n = 1 + prng_next(&chunk) % sizeof buf;
        if ((long long)n > left) n = (size_t)left;
        stream_fill(&s, buf, n);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(j->fd, buf + off, n - off);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) _exit(6);
            off += (size_t)w;
        }
        left -= (long long)n;
        since_pause += (long long)n;
        // About 8 MB/s per stream: the receivers wait for data most of the time.
        if (since_pause >= 32768) {
            struct timespec ts = {0, 4 * 1000 * 1000};
            nanosleep(&ts, NULL);
            since_pause = 0;
        }
    }
    shutdown(j->fd, SHUT_WR);
    // Wait for the receiver to close (it has read the EOF), then exit.
    char c;
    while (read(j->fd, &c, 1) > 0) {}
    close(j->fd);
    return NULL;
}

static void run_sender(int lfd, int threads, long long bytes) {
    alarm(120);
    pthread_t th[MAXT];
    struct sendjob jobs[MAXT];
    for (int i = 0; i < threads; i++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0 && errno == EINTR) { i--; continue; }
        if (c < 0) _exit(4);
        jobs[i].fd = c;
        jobs[i].bytes = bytes;
        pthread_create(&th[i], NULL, sender, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    _exit(0);
}

// ---- receivers
static int port, fatal, nthreads;
static long long want;
// Shared with the storm process (MAP_SHARED): the receivers' thread ids
// (0: not yet, -1: done) and the stop flag.
struct shared {
    atomic_int tids[MAXT];
    atomic_int stop_storm;
};
static struct shared *sh;
#define tids (sh->tids)
#define stop_storm (sh->stop_storm)
static __thread long sigs;
static atomic_long sigs_total;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)si, (void)uc;
    int e = errno;
    sigs++;
    atomic_fetch_add_explicit(&sigs_total, 1, memory_order_relaxed);
    errno = e;
}
static void on_winch(int sig) {
    (void)sig;
    int e = errno;
    sigs++;
    atomic_fetch_add_explicit(&sigs_total, 1, memory_order_relaxed);
    errno = e;
}

struct result {
    char hex[65];
    long long bytes;
    long eintr, sigs;
    int eof, err, method;
    char why[128];
};
static struct result res[MAXT];
static const char *method_name[] = {"read", "recv", "readv", "recvmsg", "recvfrom"};

static ssize_t do_read(int method, int fd, unsigned char *buf, size_t n) {
    switch (method) {
    case 0: return read(fd, buf, n);
    case 1: return recv(fd, buf, n, 0);
    case 2: {
        size_t h = n / 2;
        struct iovec iov[2] = {{buf, h}, {buf + h, n - h}};
        return readv(fd, h ? iov : iov + 1, h ? 2 : 1);
    }
    case 3: {
        struct iovec iov = {buf, n};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        return recvmsg(fd, &m, 0);
    }
    default: {
        struct sockaddr_storage ss;
        socklen_t l = sizeof ss;
        return recvfrom(fd, buf, n, 0, (struct sockaddr *)&ss, &l);
    }
    }
}

static void *receiver(void *arg) {
    int k = (int)(intptr_t)arg;
    struct result *r = &res[k];
    r->method = k % 5;
    atomic_store(&tids[k], (int)syscall(SYS_gettid));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    while (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (errno == EINTR && !fatal) { r->eintr++; continue; }
        snprintf(r->why, sizeof r->why, "connect: %s", strerrorname_np(errno));
        r->err = 1;
        return NULL;
    }
    size_t off = 0;
    while (off < sizeof k) {
        ssize_t w = write(fd, (char *)&k + off, sizeof k - off);
        if (w < 0 && errno == EINTR && !fatal) { r->eintr++; continue; }
        if (w < 0) { snprintf(r->why, sizeof r->why, "write: %s", strerrorname_np(errno)); r->err = 1; return NULL; }
        off += (size_t)w;
    }
    sha256 s;
    sha_init(&s);
    prng sizes;
    prng_seed(&sizes, 4242 + k);
    static __thread unsigned char buf[65536];
    for (;;) {
        size_t n = 1 + prng_next(&sizes) % sizeof buf;
        ssize_t got = do_read(r->method, fd, buf, n);
        if (got < 0) {
            if (errno == EINTR) {
                r->eintr++;
                if (fatal) { snprintf(r->why, sizeof r->why, "%s: EINTR after %lld bytes", method_name[r->method], r->bytes); r->err = 1; break; }
                continue;
            }
            snprintf(r->why, sizeof r->why, "%s: %s after %lld bytes", method_name[r->method], strerrorname_np(errno), r->bytes);
            r->err = 1;
            break;
        }
        if (got == 0) { r->eof = 1; break; }
        sha_update(&s, buf, (size_t)got);
        r->bytes += got;
        if (r->bytes > want) { snprintf(r->why, sizeof r->why, "more than %lld bytes", want); r->err = 1; break; }
    }
    sha_final(&s, r->hex);
    close(fd);
    r->sigs = sigs;
    atomic_store(&tids[k], -1);
    return NULL;
}

static int hz = 1000;

static void storm(pid_t pid) {
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long period = 1000000000L / hz;
    unsigned long tick = 0;
    while (!atomic_load(&stop_storm)) {
        next.tv_nsec += period;
        while (next.tv_nsec >= 1000000000L) next.tv_nsec -= 1000000000L, next.tv_sec++;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        int sig = (tick++ & 1) ? SIGWINCH : SIGUSR1;
        for (int i = 0; i < nthreads; i++) {
            int t = atomic_load(&tids[i]);
            if (t > 0) syscall(SYS_tgkill, pid, t, sig);
        }
        if (getppid() != pid) break; // the test process is gone
    }
    _exit(0);
}

static int mode_run(int threads, long long bytes) {
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) die("mmap");
    nthreads = threads;
    want = bytes;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0) die("listen");
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    port = ntohs(a.sin_port);
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) run_sender(lfd, threads, bytes);
    close(lfd);

    // Handlers installed after the library is loaded (it wraps them).
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) die("sigaction");
    struct sigaction sw = {0};
    sw.sa_handler = on_winch;
    sigemptyset(&sw.sa_mask);
    if (sigaction(SIGWINCH, &sw, NULL) < 0) die("sigaction");
    alarm(120);

    for (int i = 0; i < threads; i++) atomic_store(&tids[i], 0);
    long long t0 = now_ms();
    pthread_t th[MAXT];
    pid_t parent = getpid(), st = fork();
    if (st < 0) die("fork");
    if (st == 0) storm(parent);
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, receiver, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    atomic_store(&stop_storm, 1);
    waitpid(st, NULL, 0);
    long long ms = now_ms() - t0;
    int status;
    waitpid(child, &status, 0);

    int bad = 0;
    long long tb = 0;
    long te = 0, ts = 0;
    for (int i = 0; i < threads; i++) {
        struct result *r = &res[i];
        printf("stream %d sha256=%s bytes=%lld eintr=%ld signals=%ld method=%s\n", i, r->hex, r->bytes, r->eintr,
               r->sigs, method_name[r->method]);
        tb += r->bytes, te += r->eintr, ts += r->sigs;
        if (r->err) printf("FAIL: stream %d: %s\n", i, r->why), bad = 1;
        else if (r->bytes != bytes || !r->eof) printf("FAIL: stream %d: %lld bytes, eof=%d\n", i, r->bytes, r->eof), bad = 1;
        if (r->sigs == 0) printf("FAIL: stream %d: no signal reached its thread\n", i), bad = 1;
    }
    if (fatal && te) printf("FAIL: the application saw EINTR %ld times\n", te), bad = 1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) printf("FAIL: sender exited with status %d\n", status), bad = 1;
    printf("total bytes=%lld eintr=%ld signals=%ld ms=%lld\n", tb, te, ts, ms);
    fflush(stdout);
    return bad;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && !strcmp(argv[1], "gen")) return mode_gen(atoi(argv[2]), atoll(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "run")) {
        int threads = atoi(argv[2]);
        long long bytes = atoll(argv[3]);
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "--eintr-fatal")) fatal = 1;
            else hz = atoi(argv[i]);
        }
        if (threads < 1 || threads > MAXT || bytes < 1 || hz < 1 || hz > 100000) {
            fprintf(stderr, "hard_stream: bad arguments\n");
            return 2;
        }
        return mode_run(threads, bytes);
    }
    fprintf(stderr, "usage: hard_stream gen ID BYTES | run THREADS BYTES [--eintr-fatal] [HZ]\n");
    return 2;
}
