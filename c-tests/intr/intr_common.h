/* Shared helpers for the intr_*.c EINTR tests (the story of SIGWINCH and logrotate's SIGHUP
 * during a blocking read).
 *
 * Every program here behaves like the MySQL client whose blocking read a SIGWINCH or
 * logrotate's SIGHUP turns into "2013 Lost connection": it installs
 * signal handlers WITHOUT SA_RESTART and treats EINTR from a blocking socket
 * call as fatal.  A "storm" child sends signals to the program at a fixed
 * interval while it blocks.
 *
 * Exit codes shared by the programs (the t_intr_*.sh scripts rely on them):
 *   0  the call(s) completed and the data was verified
 *   3  EINTR reached the program
 *   4  EAGAIN / EWOULDBLOCK (SO_RCVTIMEO expired)
 *   5  a wait (poll/select) timed out (returned 0)
 *   6  EOF where data was expected
 *   1  anything else (setup failure, data corruption, ...)
 *  77  not supported here (e.g. no IPv6 loopback)
 */
#ifndef INTR_COMMON_H
#define INTR_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define U static __attribute__((unused))

enum { RC_OK = 0, RC_ERR = 1, RC_EINTR = 3, RC_EAGAIN = 4, RC_TIMEOUT = 5, RC_EOF = 6, RC_SKIP = 77 };

/* ---------- time ---------- */
U long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

U void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    /* Restart on EINTR: only the storm child and helpers sleep. */
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

U void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ERROR: ");
    vprintf(fmt, ap);
    printf(" (errno %d %s)\n", errno, strerror(errno));
    va_end(ap);
    fflush(stdout);
    exit(RC_ERR);
}

/* ---------- signals ---------- */
static volatile sig_atomic_t g_hits[65];
static volatile sig_atomic_t g_last_sig;
static volatile sig_atomic_t g_si_pid, g_si_signo, g_si_code;

U void h_plain(int sig)
{
    int e = errno;
    if (sig > 0 && sig < 65)
        g_hits[sig]++;
    g_last_sig = sig;
    errno = e;
}

U void h_info(int sig, siginfo_t *si, void *uc)
{
    int e = errno;
    (void)uc;
    if (sig > 0 && sig < 65)
        g_hits[sig]++;
    g_last_sig = sig;
    if (si) {
        g_si_pid = si->si_pid;
        g_si_signo = si->si_signo;
        g_si_code = si->si_code;
    }
    errno = e;
}

static const struct { const char *name; int num; } sig_names[] = {
    { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
    { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
    { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
    { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
    { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
    { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

U int sig_parse(const char *s)
{
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    if (!strncmp(s, "RTMIN+", 6))
        return SIGRTMIN + atoi(s + 6);
    if (s[0] >= '0' && s[0] <= '9')
        return atoi(s);
    for (size_t i = 0; i < sizeof sig_names / sizeof sig_names[0]; i++)
        if (!strcmp(s, sig_names[i].name))
            return sig_names[i].num;
    fprintf(stderr, "unknown signal %s\n", s);
    exit(RC_ERR);
}

U const char *sig_str(int sig)
{
    for (size_t i = 0; i < sizeof sig_names / sizeof sig_names[0]; i++)
        if (sig_names[i].num == sig)
            return sig_names[i].name;
    return "?";
}

/* Parse "WINCH,HUP" into sigs[], returns count. */
U int sig_list(const char *s, int *sigs, int max)
{
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        sigs[n++] = sig_parse(t);
    return n;
}

/* How a handler is installed:
 *   'a' sigaction, sa_handler, flags 0 (like the MySQL client: no SA_RESTART)
 *   'i' sigaction, SA_SIGINFO, no SA_RESTART
 *   'g' signal() (glibc: BSD semantics, SA_RESTART)
 *   'G' signal() followed by siginterrupt(sig, 1): no SA_RESTART
 *   'n' none: leave the disposition alone
 *   'R' sigaction, sa_handler, SA_RESETHAND (one run, then SIG_DFL)
 *   'I' SIG_IGN via sigaction */
U void install_handler(int sig, char style)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    switch (style) {
    case 'a':
        sa.sa_handler = h_plain;
        if (sigaction(sig, &sa, NULL))
            die("sigaction(%d)", sig);
        break;
    case 'i':
        sa.sa_sigaction = h_info;
        sa.sa_flags = SA_SIGINFO;
        if (sigaction(sig, &sa, NULL))
            die("sigaction(%d)", sig);
        break;
    case 'R':
        sa.sa_handler = h_plain;
        sa.sa_flags = SA_RESETHAND;
        if (sigaction(sig, &sa, NULL))
            die("sigaction(%d)", sig);
        break;
    case 'g':
        if (signal(sig, h_plain) == SIG_ERR)
            die("signal(%d)", sig);
        break;
    case 'G':
        if (signal(sig, h_plain) == SIG_ERR)
            die("signal(%d)", sig);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        if (siginterrupt(sig, 1))
            die("siginterrupt(%d)", sig);
#pragma GCC diagnostic pop
        break;
    case 'I':
        sa.sa_handler = SIG_IGN;
        if (sigaction(sig, &sa, NULL))
            die("sigaction(%d, SIG_IGN)", sig);
        break;
    case 'n':
        break;
    default:
        die("bad handler style %c", style);
    }
}

U void print_hits(void)
{
    printf("handled:");
    for (int s = 1; s < 65; s++)
        if (g_hits[s])
            printf(" %s=%d", sig_str(s), (int)g_hits[s]);
    printf("\n");
}

/* ---------- storm ----------
 * A child that, after start_ms, sends each signal in sigs[] to target every
 * interval_ms, at most max_ticks times, and stops as soon as the target is
 * gone.  The caller stops it with stop_child().  storm_run() is the child's
 * part, for a helper process started some other way (its parent must be
 * target). */
U void storm_run(pid_t target, const int *sigs, int nsigs, long start_ms, long interval_ms, int max_ticks)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != target)
        _exit(0);
    /* Keep the storm child itself deaf to anything stray. */
    sleep_ms(start_ms);
    for (int t = 0; t < max_ticks; t++) {
        if (t)
            sleep_ms(interval_ms);
        if (getppid() != target)
            _exit(0);
        for (int i = 0; i < nsigs; i++)
            if (kill(target, sigs[i]) != 0)
                _exit(0);
    }
    _exit(0);
}

U pid_t storm_start(pid_t target, const int *sigs, int nsigs, long start_ms, long interval_ms, int max_ticks)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        die("fork storm");
    if (pid == 0)
        storm_run(target, sigs, nsigs, start_ms, interval_ms, max_ticks);
    return pid;
}

/* Waits for the child pid (through EINTR): whether it exited with 0.
 * *status gets its wait status. */
U int child_ok(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) == -1 && errno == EINTR)
        ;
    return WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

U void stop_child(pid_t pid)
{
    int st;
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
        ;
}

/* Ends a transfer with the helper child `pid` on the other end of fd: when
 * it went well (rc is RC_OK), says EOF (shutdown SHUT_WR) and waits for the
 * helper's own verdict, which turns rc into RC_ERR when it failed ("WHO
 * reports failure" on stdout); otherwise stops the helper. Returns rc. */
U int end_helper(int fd, pid_t pid, int rc, const char *who)
{
    if (rc != RC_OK) {
        stop_child(pid);
        return rc;
    }
    int st = 0;
    shutdown(fd, SHUT_WR);
    if (!child_ok(pid, &st)) {
        printf("%s reports failure (status 0x%x)\n", who, st);
        return RC_ERR;
    }
    return rc;
}

/* ---------- data pattern ----------
 * Big-endian 32-bit counter: any lost, duplicated or shifted byte shows. */
U unsigned char pat_byte(uint64_t i)
{
    uint32_t w = (uint32_t)(i / 4);
    return (unsigned char)(w >> (8 * (3 - (i % 4))));
}

U void pat_fill(unsigned char *buf, uint64_t off, size_t len)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = pat_byte(off + k);
}

/* Returns -1 if ok, else the index of the first bad byte. */
U long pat_check(const unsigned char *buf, uint64_t off, size_t len)
{
    for (size_t k = 0; k < len; k++)
        if (buf[k] != pat_byte(off + k))
            return (long)k;
    return -1;
}

/* ---------- connections ----------
 * make_pair() builds the two ends of a stream (or datagram) channel inside
 * this process: *rfd is the end the victim reads, *wfd the end a helper child
 * writes.  Kinds:
 *   tcp4 tcp6 mapped    TCP over 127.0.0.1, ::1, or an AF_INET6 socket to
 *                       ::ffff:127.0.0.1; the victim holds the connect()ed end
 *   tcp4acc tcp6acc     same, but the victim holds the accept()ed end
 *   tcp4nb              client made with SOCK_NONBLOCK|SOCK_CLOEXEC and
 *                       IPPROTO_TCP, connect() -> EINPROGRESS, then switched
 *                       to blocking
 *   pipe socketpair unix udp pty   the "every other fd" cases (pty: the
 *                       victim reads the terminal side)
 */
struct pair_opts {
    int rcvbuf;   /* SO_RCVBUF on the reading end (listener for accepted ends), 0 = leave */
    int sndbuf;   /* SO_SNDBUF on the writing end, 0 = leave */
};

/* After a non-blocking connect() said EINPROGRESS: waits (5 s at most)
 * until it is done, and dies unless it succeeded (SO_ERROR). */
U void wait_connected(int c)
{
    struct pollfd p = { c, POLLOUT, 0 };
    if (poll(&p, 1, 5000) != 1)
        die("poll for connect");
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
        errno = err;
        die("non-blocking connect (SO_ERROR)");
    }
}

U int tcp_listener(int family, struct sockaddr_storage *ss, socklen_t *sl, int rcvbuf)
{
    int l = socket(family, SOCK_STREAM, 0);
    if (l < 0) {
        if (family == AF_INET6)
            return -2;
        die("socket listener");
    }
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rcvbuf)
        setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        *sl = sizeof *a;
    }
    if (bind(l, (struct sockaddr *)ss, *sl) != 0) {
        if (family == AF_INET6) {
            close(l);
            return -2;
        }
        die("bind listener");
    }
    if (listen(l, 16) != 0)
        die("listen");
    if (getsockname(l, (struct sockaddr *)ss, sl) != 0)
        die("getsockname");
    return l;
}

/* Returns 0, or RC_SKIP if the kind is not available here. */
U int make_pair(const char *kind, int *rfd, int *wfd, const struct pair_opts *o)
{
    struct pair_opts none = { 0, 0 };
    if (!o)
        o = &none;
    int fds[2];
    if (!strcmp(kind, "pipe")) {
        if (pipe(fds))
            die("pipe");
        *rfd = fds[0];
        *wfd = fds[1];
        return 0;
    }
    if (!strcmp(kind, "pty")) {
        /* The victim reads the terminal (slave) side. */
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        int sl = m >= 0 && !grantpt(m) && !unlockpt(m) ? open(ptsname(m), O_RDWR | O_NOCTTY) : -1;
        if (sl < 0) {
            printf("no pseudo-terminals here: %s\n", strerror(errno));
            return RC_SKIP;
        }
        *rfd = sl;
        *wfd = m;
        return 0;
    }
    if (!strcmp(kind, "socketpair")) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
            die("socketpair");
        *rfd = fds[0];
        *wfd = fds[1];
        return 0;
    }
    if (!strcmp(kind, "unix")) {
        struct sockaddr_un a;
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "sockfix-intr-%d-%ld", (int)getpid(), now_ms());
        socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        if (l < 0 || bind(l, (struct sockaddr *)&a, sl) || listen(l, 4))
            die("unix listener");
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sl))
            die("unix connect");
        int s = accept(l, NULL, NULL);
        if (s < 0)
            die("unix accept");
        close(l);
        *rfd = c;
        *wfd = s;
        return 0;
    }
    if (!strcmp(kind, "udp")) {
        struct sockaddr_in a, b;
        socklen_t sl = sizeof a;
        int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        b = a;
        if (r < 0 || w < 0 || bind(r, (struct sockaddr *)&a, sizeof a) || bind(w, (struct sockaddr *)&b, sizeof b))
            die("udp bind");
        if (getsockname(r, (struct sockaddr *)&a, &sl))
            die("getsockname");
        sl = sizeof b;
        if (getsockname(w, (struct sockaddr *)&b, &sl))
            die("getsockname");
        if (connect(r, (struct sockaddr *)&b, sizeof b) || connect(w, (struct sockaddr *)&a, sizeof a))
            die("udp connect");
        *rfd = r;
        *wfd = w;
        return 0;
    }

    int family = AF_INET, accepted = 0, nonblock = 0, mapped = 0;
    if (!strcmp(kind, "tcp4")) {
    } else if (!strcmp(kind, "tcp6")) {
        family = AF_INET6;
    } else if (!strcmp(kind, "mapped")) {
        mapped = 1;
    } else if (!strcmp(kind, "tcp4acc")) {
        accepted = 1;
    } else if (!strcmp(kind, "tcp6acc")) {
        family = AF_INET6;
        accepted = 1;
    } else if (!strcmp(kind, "tcp4nb")) {
        nonblock = 1;
    } else {
        fprintf(stderr, "unknown kind %s\n", kind);
        exit(RC_ERR);
    }

    struct sockaddr_storage ss;
    socklen_t sl;
    int l = tcp_listener(family, &ss, &sl, accepted ? o->rcvbuf : 0);
    if (l == -2) {
        printf("no IPv6 loopback here\n");
        return RC_SKIP;
    }
    int cfam = family;
    if (mapped) {
        struct sockaddr_in a4 = *(struct sockaddr_in *)&ss;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        memset(a6, 0, sizeof *a6);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = a4.sin_port;
        a6->sin6_addr.s6_addr[10] = 0xff;
        a6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&a6->sin6_addr.s6_addr[12], &a4.sin_addr, 4);
        sl = sizeof *a6;
        cfam = AF_INET6;
    }
    int c;
    if (nonblock)
        c = socket(cfam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    else
        c = socket(cfam, SOCK_STREAM, 0);
    if (c < 0) {
        if (cfam == AF_INET6) {
            printf("no IPv6 sockets here\n");
            return RC_SKIP;
        }
        die("socket");
    }
    if (!accepted && o->rcvbuf)
        setsockopt(c, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf);
    if (accepted && o->sndbuf)
        setsockopt(c, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof o->sndbuf);
    if (connect(c, (struct sockaddr *)&ss, sl) != 0) {
        if (!(nonblock && errno == EINPROGRESS)) {
            if (mapped) {
                printf("IPv4-mapped connect failed: %s\n", strerror(errno));
                return RC_SKIP;
            }
            die("connect");
        }
        wait_connected(c);
    }
    if (nonblock) {
        int fl = fcntl(c, F_GETFL);
        if (fl < 0 || fcntl(c, F_SETFL, fl & ~O_NONBLOCK) != 0)
            die("fcntl clear O_NONBLOCK");
    }
    int s = accept(l, NULL, NULL);
    if (s < 0)
        die("accept");
    if (!accepted && o->sndbuf)
        setsockopt(s, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof o->sndbuf);
    close(l);
    if (accepted) {
        *rfd = s;
        *wfd = c;
    } else {
        *rfd = c;
        *wfd = s;
    }
    return 0;
}

/* A helper child that owns wfd: waits delay_ms (-1: never writes), writes
 * `chunks` chunks of chunk_len pattern bytes gap_ms apart, then waits for EOF
 * on wfd (stream sockets) or until it is killed, at most 60 s.  writer_run()
 * is the child's part (after closing what it must not hold), for a helper
 * process started some other way. */
U void writer_run(int wfd, long delay_ms, int chunks, long gap_ms, size_t chunk_len)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGALRM, SIG_DFL);
    alarm(60);
    if (delay_ms >= 0) {
        sleep_ms(delay_ms);
        unsigned char *buf = malloc(chunk_len ? chunk_len : 1);
        uint64_t off = 0;
        for (int c = 0; c < chunks; c++) {
            if (c)
                sleep_ms(gap_ms);
            pat_fill(buf, off, chunk_len);
            size_t done = 0;
            while (done < chunk_len) {
                ssize_t n = write(wfd, buf + done, chunk_len - done);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    _exit(2);
                done += (size_t)n;
            }
            off += chunk_len;
        }
    }
    char b[64];
    for (;;) {
        ssize_t n = read(wfd, b, sizeof b);
        if (n == 0)
            _exit(0);
        if (n < 0 && errno != EINTR)
            pause();
    }
}

U pid_t writer_start(int wfd, int rfd, long delay_ms, int chunks, long gap_ms, size_t chunk_len)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        die("fork writer");
    if (pid > 0)
        return pid;
    close(rfd);
    writer_run(wfd, delay_ms, chunks, gap_ms, chunk_len);
    return -1; /* not reached */
}

/* One read of at most `len` bytes with the call a test names: read, recv,
 * recvfrom, readv or recvmsg (these two with the buffer in two halves, so
 * that the iovec walk is exercised). An unknown name ends the program. */
U ssize_t read_as(const char *mode, int fd, unsigned char *buf, size_t len)
{
    if (!strcmp(mode, "read"))
        return read(fd, buf, len);
    if (!strcmp(mode, "recv"))
        return recv(fd, buf, len, 0);
    if (!strcmp(mode, "recvfrom")) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        return recvfrom(fd, buf, len, 0, (struct sockaddr *)&ss, &sl);
    }
    if (!strcmp(mode, "readv") || !strcmp(mode, "recvmsg")) {
        size_t half = len > 1 ? len / 2 : len;
        struct iovec iov[2] = { { buf, half }, { buf + half, len - half } };
        int n = len - half ? 2 : 1;
        if (!strcmp(mode, "readv"))
            return readv(fd, iov, n);
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        return recvmsg(fd, &mh, 0);
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    exit(RC_ERR);
}

/* The peer of a writer: reads until EOF (pausing pace_ms after each read, so
 * that signals land mid-transfer many times), checking every byte of the
 * counter pattern; 0 when all `total` bytes came in order, else 1 (said on
 * stdout). */
U int pat_read_all(int fd, long pace_ms, size_t total)
{
    unsigned char buf[65536];
    uint64_t off = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            printf("peer: read error %s after %llu bytes\n", strerror(errno), (unsigned long long)off);
            return 1;
        }
        if (n == 0)
            break;
        long bad = pat_check(buf, off, (size_t)n);
        if (bad >= 0) {
            printf("peer: CORRUPTED stream at byte %llu (got 0x%02x, want 0x%02x)\n",
                   (unsigned long long)(off + (uint64_t)bad), buf[bad], pat_byte(off + (uint64_t)bad));
            return 1;
        }
        off += (uint64_t)n;
        /* Read slowly, so that the storm lands mid-transfer many times. */
        if (pace_ms)
            sleep_ms(pace_ms);
    }
    if (off != total) {
        printf("peer: got %llu bytes, expected %zu\n", (unsigned long long)off, total);
        return 1;
    }
    printf("peer: all %llu bytes received in order\n", (unsigned long long)off);
    return 0;
}

#endif
