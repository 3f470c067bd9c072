// Small helpers shared by the c-tests/live_*.c programs (header only; every
// function is static inline so an unused one costs no warning).
#ifndef LIVE_UTIL_H
#define LIVE_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline long live_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static inline const char *live_errname(int e) {
    const char *s = strerrorname_np(e);
    return s ? s : "?";
}

// Print "PROG: message: errno-name" to stderr and exit 2 (a setup error).
static inline void live_die(const char *fmt, ...) {
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    fputs("live: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s (%s)\n", live_errname(e), strerror(e));
    exit(2);
}

// Sleep ms milliseconds, whatever signals arrive (bounded: nanosleep with the
// remaining time).
static inline void live_sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L }, rem;
    while (nanosleep(&ts, &rem) < 0 && errno == EINTR) ts = rem;
}

static inline int live_fill_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return AF_INET6;
    }
    errno = EINVAL;
    return -1;
}

// A listening TCP socket on host:port (port 0: any); *bound gets the port.
static inline int live_listen(const char *host, int port, int *bound) {
    struct sockaddr_storage ss;
    socklen_t len;
    int fam = live_fill_addr(host, port, &ss, &len);
    if (fam < 0) live_die("bad address %s", host);
    int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) live_die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) live_die("bind %s:%d", host, port);
    if (listen(fd, 128) < 0) live_die("listen");
    if (bound) {
        len = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) live_die("getsockname");
        *bound = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

// A blocking TCP connection to host:port, or -1 with errno set.
// The body of a forked test server: accepts one connection on lfd and, for
// every byte it reads, waits delay_ms and sends the n bytes of answer (all
// of them, across EINTR). Exits when the client closes; killed with its
// parent.
static inline void live_answer_server(int lfd, const char *answer, size_t n, long delay_ms) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);
    int c;
    while ((c = accept(lfd, NULL, NULL)) < 0 && errno == EINTR) {}
    if (c < 0) _exit(1);
    for (;;) {
        char g;
        ssize_t r = read(c, &g, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) _exit(0);
        live_sleep_ms(delay_ms);
        size_t off = 0;
        while (off < n) {
            ssize_t w = send(c, answer + off, n - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) _exit(1);
            off += (size_t)w;
        }
    }
}

// A loopback listener served by `serve` in a forked child; sets *port and
// returns the child's pid.
static inline pid_t live_fork_server(void (*serve)(int lfd), int *port) {
    int lfd = live_listen("127.0.0.1", 0, port);
    pid_t srv = fork();
    if (srv < 0) live_die("fork");
    if (srv == 0) serve(lfd);
    close(lfd);
    return srv;
}

static inline int live_connect(const char *host, int port) {
    struct sockaddr_storage ss;
    socklen_t len;
    int fam = live_fill_addr(host, port, &ss, &len);
    if (fam < 0) return -1;
    int fd = socket(fam, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

// getsockopt of an int option, -1 when it cannot be read.
static inline int live_opt(int fd, int level, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) < 0) return -1;
    return v;
}

// "keepalive=1 idle=15 intvl=15 cnt=9 user_timeout=0" for fd, into buf.
static inline const char *live_opts(int fd, char *buf, size_t n) {
    snprintf(buf, n, "keepalive=%d idle=%d intvl=%d cnt=%d user_timeout=%d",
             live_opt(fd, SOL_SOCKET, SO_KEEPALIVE), live_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE),
             live_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL), live_opt(fd, IPPROTO_TCP, TCP_KEEPCNT),
             live_opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
    return buf;
}

// write() all of buf, retrying only on short writes; EINTR is reported to the
// caller as a failure (the programs under test treat it as fatal, like the
// MySQL client of the SIGWINCH story). Returns 0, or -1 with errno set.
static inline int live_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

// The signal storm of several tests: a SIGWINCH handler without SA_RESTART
// that counts its runs (live_winches), and a child that sends the process a
// SIGWINCH every 20 ms for at most max_ms, or until the process is gone.
// wake_fd >= 0: the child then writes a byte there, freeing a read that was
// wrongly resumed. Returns the child's pid.
static atomic_long live_winch_runs;
static inline void live_on_winch(int sig) {
    (void)sig;
    atomic_fetch_add(&live_winch_runs, 1);
}
static inline long live_winches(void) { return atomic_load(&live_winch_runs); }
static inline pid_t live_winch_storm(long max_ms, int wake_fd) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = live_on_winch;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGWINCH, &sa, NULL) < 0) live_die("sigaction");
    pid_t parent = getpid();
    pid_t storm = fork();
    if (storm < 0) live_die("fork");
    if (storm == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        long end = live_now_ms() + max_ms;
        while (live_now_ms() < end && getppid() == parent) {
            kill(parent, SIGWINCH);
            live_sleep_ms(20);
        }
        if (wake_fd >= 0 && write(wake_fd, "x", 1) != 1) _exit(1);
        _exit(0);
    }
    return storm;
}

// live_send_acked: write `req` on a TCP connection and wait (at most 5 s)
// until the peer has acknowledged it: then nothing is in flight when a test
// drops the traffic, and only keepalive (or a later write) can notice.
// 0, or -1 (with a line on stderr) when it was never acknowledged.
static inline int live_send_acked(int fd, const char *req) {
    if (live_write_all(fd, req, strlen(req)) < 0) live_die("write request");
    long limit = live_now_ms() + 5000;
    for (;;) {
        struct tcp_info ti;
        socklen_t l = sizeof ti;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0) live_die("TCP_INFO");
        if (ti.tcpi_unacked == 0) return 0;
        if (live_now_ms() > limit) {
            fprintf(stderr, "the request was never acknowledged\n");
            return -1;
        }
        live_sleep_ms(5);
    }
}

// live_handshake: tell the test this side is ready (create `ready`), then
// wait (at most 20 s) for its go (the file `go` exists). 0, or -1 (with a
// line on stderr) when the go never came.
static inline int live_handshake(const char *ready, const char *go) {
    int rfd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (rfd < 0) live_die("create %s", ready);
    close(rfd);
    long limit = live_now_ms() + 20000;
    struct stat st;
    while (stat(go, &st) != 0) {
        if (live_now_ms() > limit) {
            fprintf(stderr, "%s never appeared\n", go);
            return -1;
        }
        live_sleep_ms(5);
    }
    return 0;
}

// live_enter_netns: this thread (and what it starts) into the network
// namespace /run/netns/NAME (made by `ip netns add`); "-" stays.
static inline void live_enter_netns(const char *name) {
    if (!strcmp(name, "-")) return;
    char path[512];
    snprintf(path, sizeof path, "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) live_die("open %s", path);
    if (setns(fd, CLONE_NEWNET) < 0) live_die("setns %s", path);
    close(fd);
}

#endif
