// bench_prog: the measuring half of scripts/bench (which builds it into
// target/bench/ and runs it with and without a preload library). Every mode
// prints one line of "key=value" pairs on stdout.
//
//   bench_prog calls N
//       Under callgrind (valgrind --tool=callgrind --collect-atstart=no):
//       for each call (read, recv, write) and each kind of fd (file:
//       /dev/zero or /dev/null; udp: a connected UDP socket; tcp: a
//       connected loopback TCP socket, non-blocking, nothing to read), a
//       loop of 0 and then N calls, each bracketed by callgrind client
//       requests (toggle collection on, loop, toggle off, dump "OP-KIND-N").
//       scripts/bench reads the dumps: (Ir(N) - Ir(0)) / N per call.
//   bench_prog pingpong tcp|unix N
//       1-byte ping-pong: a forked child echoes every byte; the parent
//       writes one byte and reads it back, N times (write/read: both hooked).
//       Prints rt_per_s and ns.
//   bench_prog server ADDR K
//       K TCP listeners on ADDR (ephemeral ports); prints "ports=P1,P2,...",
//       then accepts and closes until killed (or 600 s).
//   bench_prog connect ADDR PORT N
//       N times socket + connect + close (blocking, client closes first).
//       Prints conn_per_s and ns.
//   bench_prog exec N PROG [LIB]
//       N times posix_spawn PROG (argv {PROG}, envp {PATH, LD_PRELOAD=LIB
//       when LIB is given and not empty}) and wait for it. The parent itself
//       runs without the library. Prints ns and per_exec_us.
//   bench_prog rss
//       Its own memory: VmRSS, VmSize (from /proc/self/status) and Rss, Pss,
//       Private_Dirty from /proc/self/smaps_rollup,
//       all in kB.
//   bench_prog dead-server ADDR PORT
//       Listen on ADDR:PORT, print "listening", accept, read, never answer.
//       Exits after 120 s.
//   bench_prog dead-client ADDR PORT READYFILE GOFILE
//       Connect, send one byte, wait until the peer acknowledged it
//       (TCP_INFO: nothing unacked), create READYFILE, wait for GOFILE, then
//       block in read(). Prints "result=ERRNAME elapsed_ms=N" (N from the
//       moment GOFILE was seen). A 60 s alarm ends it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "bench_prog: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void addr4(const char *host, int port, struct sockaddr_in *a) {
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
        fprintf(stderr, "bench_prog: bad IPv4 address %s\n", host);
        exit(2);
    }
}

static int listen4(const char *host, int port, int *bound) {
    struct sockaddr_in a;
    addr4(host, port, &a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    socklen_t l = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &l) < 0) die("getsockname");
    if (bound) *bound = ntohs(a.sin_port);
    return fd;
}

static int connect4(const char *host, int port) {
    struct sockaddr_in a;
    addr4(host, port, &a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    return fd;
}

// ---- calls: instructions per hooked call, under callgrind ----

static char cbuf[64];

// The loops are noinline so that they stay the same code in every run.
__attribute__((noinline)) static void loop_read(int fd, long n) {
    for (long i = 0; i < n; i++) (void)!read(fd, cbuf, 1);
}
__attribute__((noinline)) static void loop_recv(int fd, long n) {
    for (long i = 0; i < n; i++) (void)!recv(fd, cbuf, 1, 0);
}
__attribute__((noinline)) static void loop_write(int fd, long n) {
    for (long i = 0; i < n; i++) (void)!write(fd, cbuf, 1);
}

static void measure(const char *op, const char *kind, int rfd, int wfd, long n) {
    long counts[2] = {0, n};
    for (int k = 0; k < 2; k++) {
        char label[64];
        snprintf(label, sizeof label, "%s-%s-%ld", op, kind, counts[k]);
        CALLGRIND_TOGGLE_COLLECT;
        if (!strcmp(op, "read")) loop_read(rfd, counts[k]);
        else if (!strcmp(op, "recv")) loop_recv(rfd, counts[k]);
        else loop_write(wfd, counts[k]);
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_DUMP_STATS_AT(label);
    }
}

static int mode_calls(long n) {
    int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (zero < 0 || null < 0) die("open /dev/zero, /dev/null");

    // UDP: a receiver bound on loopback, a sender connected to it; the
    // receiver is non-blocking (read: EAGAIN), the sender's datagrams that
    // do not fit are dropped by the kernel (write always succeeds).
    int ur = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a;
    addr4("127.0.0.1", 0, &a);
    if (ur < 0 || bind(ur, (struct sockaddr *)&a, sizeof a) < 0) die("udp bind");
    socklen_t l = sizeof a;
    getsockname(ur, (struct sockaddr *)&a, &l);
    int us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (us < 0 || connect(us, (struct sockaddr *)&a, sizeof a) < 0) die("udp connect");

    // TCP (sockets the library tracks), two connections: one non-blocking,
    // nothing to read (EAGAIN: the calls of an event loop); one blocking,
    // whose calls the library must be ready to resume, with the data for
    // every read already there. Writes go to a peer that reads nothing, but
    // N bytes fit in the buffers.
    int port;
    int lfd = listen4("127.0.0.1", 0, &port);
    int tc = connect4("127.0.0.1", port);
    int ta = accept(lfd, NULL, NULL);
    if (ta < 0) die("accept");
    int one = 1;
    setsockopt(tc, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(tc, F_SETFL, fcntl(tc, F_GETFL) | O_NONBLOCK);

    int bc = connect4("127.0.0.1", port);
    int ba = accept(lfd, NULL, NULL);
    if (bc < 0 || ba < 0) die("accept (blocking pair)");
    setsockopt(bc, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // read and recv take n bytes each: send them all first, and wait (at
    // most 5 s) until they have arrived.
    static char data[1 << 16];
    size_t want = 2 * (size_t)n;
    if (want > sizeof data) die("too many calls for the blocking TCP data");
    if (write(ba, data, want) != (ssize_t)want) die("write (blocking pair)");
    for (int i = 0, queued = 0; queued < (int)want; i++) {
        if (i == 500) die("data for the blocking TCP reads did not arrive");
        if (ioctl(bc, FIONREAD, &queued) < 0) die("FIONREAD");
        if (queued < (int)want) usleep(10000);
    }

    const char *ops[] = {"read", "recv", "write"};
    for (int i = 0; i < 3; i++) {
        measure(ops[i], "file", zero, null, n);
        measure(ops[i], "udp", ur, us, n);
        measure(ops[i], "tcp", tc, tc, n);
        measure(ops[i], "tcpblk", bc, bc, n);
    }
    printf("calls=%ld\n", n);
    return 0;
}

// ---- ping-pong ----

static int mode_pingpong(const char *kind, long n) {
    int a, b;
    if (!strcmp(kind, "unix")) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
        a = sv[0];
        b = sv[1];
    } else {
        int port;
        int lfd = listen4("127.0.0.1", 0, &port);
        a = connect4("127.0.0.1", port);
        b = accept(lfd, NULL, NULL);
        if (b < 0) die("accept");
        close(lfd);
        int one = 1;
        setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    pid_t pid = fork();
    if (pid < 0) die("fork");
    char c = 'x';
    if (pid == 0) {
        close(a);
        for (;;) {
            ssize_t r = read(b, &c, 1);
            if (r <= 0) _exit(r == 0 ? 0 : 3);
            if (write(b, &c, 1) != 1) _exit(4);
        }
    }
    close(b);
    // Warm-up, then the measured run.
    for (int i = 0; i < 200; i++)
        if (write(a, &c, 1) != 1 || read(a, &c, 1) != 1) die("warm-up");
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (write(a, &c, 1) != 1) die("write");
        if (read(a, &c, 1) != 1) die("read");
    }
    long long ns = now_ns() - t0;
    close(a);
    int st;
    waitpid(pid, &st, 0);
    printf("rt_per_s=%.0f ns=%lld n=%ld\n", n * 1e9 / (double)ns, ns, n);
    return 0;
}

// ---- connect ----

static int mode_server(const char *host, int k) {
    if (k < 1 || k > 64) k = 1;
    int fds[64];
    printf("ports=");
    for (int i = 0; i < k; i++) {
        int port;
        fds[i] = listen4(host, 0, &port);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        printf("%s%d", i ? "," : "", port);
    }
    printf("\n");
    fflush(stdout);
    alarm(600);
    for (;;) {
        // Poll-free round robin: accept everything pending on every listener,
        // and sleep briefly only when nothing came.
        int got = 0;
        for (int i = 0; i < k; i++) {
            for (;;) {
                int c = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) break;
                close(c);
                got++;
            }
        }
        if (!got) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
    return 0;  // not reached: the server runs until it is killed
}

static int mode_connect(const char *host, int port, long n) {
    struct sockaddr_in a;
    addr4(host, port, &a);
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
        close(fd);
    }
    long long ns = now_ns() - t0;
    printf("conn_per_s=%.0f ns=%lld n=%ld\n", n ? n * 1e9 / (double)ns : 0.0, ns, n);
    return 0;
}

// ---- exec ----

static int mode_exec(long n, const char *prog, const char *lib) {
    char pre[4096];
    char *envp[3] = {"PATH=/usr/bin:/bin", NULL, NULL};
    if (lib && *lib) {
        snprintf(pre, sizeof pre, "LD_PRELOAD=%s", lib);
        envp[1] = pre;
    }
    char *argv[] = {(char *)prog, NULL};
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int e = posix_spawn(&pid, prog, NULL, NULL, argv, envp);
        if (e) {
            errno = e;
            die("posix_spawn");
        }
        int st;
        if (waitpid(pid, &st, 0) < 0) die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench_prog: %s failed (status %d)\n", prog, st);
            return 1;
        }
    }
    long long ns = now_ns() - t0;
    printf("ns=%lld per_exec_us=%.1f n=%ld\n", ns, ns / 1000.0 / (double)n, n);
    return 0;
}

// ---- rss ----

static long field_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long v = -1, sum = 0;
    size_t kl = strlen(key);
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            sum += strtol(line + kl + 1, NULL, 10);
            found = 1;
        }
    }
    fclose(f);
    if (found) v = sum;
    return v;
}

static int mode_rss(void) {
    // Private_Dirty: the pages this process wrote (relocations, data, heap,
    // stack): what every process pays even when the library's text is shared.
    printf("vmrss_kb=%ld vmsize_kb=%ld rss_kb=%ld pss_kb=%ld dirty_kb=%ld\n",
           field_kb("/proc/self/status", "VmRSS"), field_kb("/proc/self/status", "VmSize"),
           field_kb("/proc/self/smaps_rollup", "Rss"), field_kb("/proc/self/smaps_rollup", "Pss"),
           field_kb("/proc/self/smaps_rollup", "Private_Dirty"));
    return 0;
}

// ---- dead peer ----

static int mode_dead_server(const char *host, int port) {
    int lfd = listen4(host, port, NULL);
    printf("listening\n");
    fflush(stdout);
    alarm(120);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) continue;
        char b[16];
        (void)!read(c, b, sizeof b);  // the one request; never answered
    }
    return 0;  // not reached: alarm() ends it
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int mode_dead_client(const char *host, int port, const char *ready, const char *go) {
    alarm(60);
    int fd = connect4(host, port);
    if (write(fd, "q", 1) != 1) die("write");
    for (int i = 0; i < 1000; i++) {
        struct tcp_info ti;
        socklen_t l = sizeof ti;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 && ti.tcpi_unacked == 0) break;
        usleep(1000);
    }
    int rf = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (rf >= 0) close(rf);
    while (!exists(go)) usleep(2000);
    long long t0 = now_ns();
    char b[16];
    ssize_t r = read(fd, b, sizeof b);
    int e = errno;
    long ms = (long)((now_ns() - t0) / 1000000);
    if (r < 0) printf("result=%s elapsed_ms=%ld\n", strerrorname_np(e) ? strerrorname_np(e) : "?", ms);
    else printf("result=%s elapsed_ms=%ld\n", r ? "data" : "eof", ms);
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "calls") && argc == 3) return mode_calls(atol(argv[2]));
    if (!strcmp(m, "pingpong") && argc == 4) return mode_pingpong(argv[2], atol(argv[3]));
    if (!strcmp(m, "server") && argc == 4) return mode_server(argv[2], atoi(argv[3]));
    if (!strcmp(m, "connect") && argc == 5) return mode_connect(argv[2], atoi(argv[3]), atol(argv[4]));
    if (!strcmp(m, "exec") && (argc == 4 || argc == 5)) return mode_exec(atol(argv[2]), argv[3], argc == 5 ? argv[4] : NULL);
    if (!strcmp(m, "rss") && argc == 2) return mode_rss();
    if (!strcmp(m, "dead-server") && argc == 4) return mode_dead_server(argv[2], atoi(argv[3]));
    if (!strcmp(m, "dead-client") && argc == 6) return mode_dead_client(argv[2], atoi(argv[3]), argv[4], argv[5]);
    fprintf(stderr, "usage: see the comment at the top of scripts/bench_prog.c\n");
    return 2;
}
