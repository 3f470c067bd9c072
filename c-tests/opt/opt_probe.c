// opt_probe: make one socket, connect it, print the socket options sockfix is
// supposed to set (or leave alone). Used by c-tests/opt/t_opt_*.sh.
//
//   opt_probe [options] STYLE ADDR [PORT]
//
// STYLE
//   tcp             socket(family, SOCK_STREAM, 0), blocking connect
//   tcp-nb          socket(family, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0),
//                   connect (EINPROGRESS or 0), then poll until connected
//   tcp-proto       socket(family, SOCK_STREAM, IPPROTO_TCP)
//   accept          listen on ADDR, connect to it, accept(); report the
//                   ACCEPTED socket
//   accept4         the same with accept4(SOCK_CLOEXEC)
//   udp             UDP socket connected to a UDP socket bound on ADDR
//   unix-stream | unix-dgram | unix-seqpacket
//                   ADDR is a socket path; the probe binds it itself
// ADDR is an IPv4 or IPv6 literal (an AF_INET6 socket for any IPv6 literal,
// including ::ffff:127.0.0.1). With no PORT (or 0) the probe makes its own
// listener on ADDR (AF_INET on 127.0.0.1 for an IPv4-mapped ADDR).
//
// options (applied to the connecting socket; for accept styles --pre is
// applied to the listener, whose options the accepted socket inherits)
//   --pre NAME=VAL   setsockopt before connect   NAME: keepalive idle intvl
//   --post NAME=VAL  setsockopt after connect          cnt user_timeout
//   --timing         print elapsed_ms: how long the connect() call took
//   --poll MS        tcp-nb: poll at most MS ms for the connect to finish
//                    (default 10000); on a timeout print connect=pending
//   --hold MS        sleep MS milliseconds before exiting (after printing)
//   --alarm MS       SIGALRM after MS ms, handler without SA_RESTART (an
//                    app's own connect timeout: connect must fail EINTR)
//   --usr1 MS        SIGUSR1 every MS ms, handler with SA_RESTART; prints
//                    signals=N
//
// Output: one line on stdout, e.g.
//   pid=123 secure=0 connect=ok errno_kept=1 keepalive=1 idle=15 intvl=15 cnt=9 user_timeout=0
// An option that getsockopt cannot read prints as "-". On a failed connect:
//   pid=123 secure=0 connect=fail errno=ETIMEDOUT elapsed_ms=2001
// Exit status: 0 when the connect succeeded, 2 when it failed, 3 when a
// non-blocking connect was still pending, 1 on a setup error (on stderr).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "opt_util.h"

struct setting { const struct opt *o; int val; };
static struct setting pre[16], post[16];
static int npre, npost;

static void die(const char *what) {
    fprintf(stderr, "opt_probe: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(void) {
    fprintf(stderr, "usage: opt_probe [--pre N=V] [--post N=V] [--timing] [--hold MS] STYLE ADDR [PORT]\n");
    exit(1);
}

static void parse_setting(const char *arg, struct setting *list, int *n) {
    const char *eq = strchr(arg, '=');
    if (!eq || *n >= 16) usage();
    for (size_t i = 0; i < NOPTS; i++) {
        if (strlen(OPTS[i].label) == (size_t)(eq - arg) && !strncmp(arg, OPTS[i].label, eq - arg)) {
            list[*n].o = &OPTS[i];
            list[*n].val = atoi(eq + 1);
            (*n)++;
            return;
        }
    }
    usage();
}

static void apply(int fd, struct setting *list, int n) {
    for (int i = 0; i < n; i++) {
        int v = list[i].val;
        if (setsockopt(fd, list[i].o->level, list[i].o->name, &v, sizeof v) < 0) die(list[i].o->label);
    }
}

static volatile sig_atomic_t nsignals;
static void on_signal(int sig) { (void)sig; nsignals++; }

static void install(int sig, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0) die("sigaction");
}

/* SIGUSR1 every period ms from a helper thread-free timer: ITIMER_REAL is
   taken by --alarm, so use a POSIX timer. */
static void usr1_every(int ms) {
    timer_t t;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t) < 0) die("timer_create");
    struct itimerspec its = { .it_interval = { ms / 1000, (ms % 1000) * 1000000L }, .it_value = { ms / 1000, (ms % 1000) * 1000000L } };
    if (timer_settime(t, 0, &its, NULL) < 0) die("timer_settime");
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static const char *errname(int e) {
    const char *s = strerrorname_np(e);
    return s ? s : "?";
}

/* Fill *ss for ADDR:PORT; returns the family. */
static int make_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *sl) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *sl = sizeof *a4;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *sl = sizeof *a6;
        return AF_INET6;
    }
    fprintf(stderr, "opt_probe: bad address %s\n", addr);
    exit(1);
}

static int port_of(int fd) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) die("getsockname");
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A listener (TCP) or bound socket (UDP) on ADDR, port 0; returns fd, sets *port. */
static int own_server(const char *addr, int type, int *port) {
    struct sockaddr_storage ss;
    socklen_t sl;
    int fam = make_addr(addr, 0, &ss, &sl);
    if (fam == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
        fam = make_addr("127.0.0.1", 0, &ss, &sl);
    int fd = socket(fam, type, 0);
    if (fd < 0) die("server socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) die("server bind");
    if (type == SOCK_STREAM && listen(fd, 8) < 0) die("listen");
    *port = port_of(fd);
    return fd;
}

int main(int argc, char **argv) {
    int timing = 0, hold = 0, poll_ms = 10000, alarm_ms = 0, usr1_ms = 0;
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--pre") && i + 1 < argc) parse_setting(argv[++i], pre, &npre);
        else if (!strcmp(argv[i], "--post") && i + 1 < argc) parse_setting(argv[++i], post, &npost);
        else if (!strcmp(argv[i], "--timing")) timing = 1;
        else if (!strcmp(argv[i], "--hold") && i + 1 < argc) hold = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--poll") && i + 1 < argc) poll_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--alarm") && i + 1 < argc) alarm_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--usr1") && i + 1 < argc) usr1_ms = atoi(argv[++i]);
        else usage();
    }
    if (argc - i < 2) usage();
    const char *style = argv[i], *addr = argv[i + 1];
    int port = argc - i > 2 ? atoi(argv[i + 2]) : 0;

    out("pid=%d secure=%lu", (int)getpid(), getauxval(AT_SECURE));

    int fd, srv = -1, rc, err;
    long t0, dt;
    if (!strncmp(style, "unix-", 5)) {
        int type = !strcmp(style, "unix-stream") ? SOCK_STREAM
                 : !strcmp(style, "unix-dgram") ? SOCK_DGRAM
                 : !strcmp(style, "unix-seqpacket") ? SOCK_SEQPACKET : -1;
        if (type < 0) usage();
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        if (strlen(addr) >= sizeof un.sun_path) usage();
        strcpy(un.sun_path, addr);
        unlink(addr);
        srv = socket(AF_UNIX, type, 0);
        if (srv < 0) die("unix server socket");
        if (bind(srv, (struct sockaddr *)&un, sizeof un) < 0) die("unix bind");
        if (type != SOCK_DGRAM && listen(srv, 8) < 0) die("unix listen");
        fd = socket(AF_UNIX, type, 0);
        if (fd < 0) die("unix socket");
        apply(fd, pre, npre);
        errno = SENTINEL;
        t0 = now_ms();
        rc = connect(fd, (struct sockaddr *)&un, sizeof un);
        err = errno;
        dt = now_ms() - t0;
        unlink(addr);
    } else {
        int is_udp = !strcmp(style, "udp");
        int is_accept = !strcmp(style, "accept") || !strcmp(style, "accept4");
        if (port == 0) srv = own_server(addr, is_udp ? SOCK_DGRAM : SOCK_STREAM, &port);
        struct sockaddr_storage ss;
        socklen_t sl;
        int fam = make_addr(addr, port, &ss, &sl);
        int type = is_udp ? SOCK_DGRAM : SOCK_STREAM, proto = 0;
        if (!strcmp(style, "tcp-nb")) type |= SOCK_CLOEXEC | SOCK_NONBLOCK;
        else if (!strcmp(style, "tcp-proto")) proto = IPPROTO_TCP;
        else if (!is_udp && !is_accept && strcmp(style, "tcp")) usage();
        if (is_accept && srv < 0) {
            fprintf(stderr, "opt_probe: accept styles make their own listener (no PORT)\n");
            exit(1);
        }
        fd = socket(fam, type, proto);
        if (fd < 0) die("socket");
        apply(is_accept ? srv : fd, pre, npre);
        if (alarm_ms) {
            install(SIGALRM, 0);
            struct itimerval it = { .it_value = { alarm_ms / 1000, (alarm_ms % 1000) * 1000 } };
            setitimer(ITIMER_REAL, &it, NULL);
        }
        if (usr1_ms) {
            install(SIGUSR1, SA_RESTART);
            usr1_every(usr1_ms);
        }
        errno = SENTINEL;
        t0 = now_ms();
        rc = connect(fd, (struct sockaddr *)&ss, sl);
        err = errno;
        dt = now_ms() - t0;
        if (rc < 0 && err == EINPROGRESS && (type & SOCK_NONBLOCK)) {
            out(" inprogress=1");
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            if (poll(&p, 1, poll_ms) != 1) {
                out(" connect=pending");
                if (timing) out(" elapsed_ms=%ld", dt);
                printf("%s\n", line);
                fflush(stdout);
                return 3;
            }
            int soerr = 0;
            socklen_t l = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
            if (soerr == 0) rc = 0, err = SENTINEL;
            else err = soerr;
        } else if (type & SOCK_NONBLOCK) {
            out(" inprogress=0");
        }
        if (rc == 0 && is_accept) {
            int lfd = srv;
            int a = !strcmp(style, "accept4") ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : accept(lfd, NULL, NULL);
            if (a < 0) die("accept");
            fd = a; /* report the accepted socket */
        }
    }
    if (rc < 0) {
        out(" connect=fail errno=%s", errname(err));
        if (timing) out(" elapsed_ms=%ld", dt);
        if (alarm_ms || usr1_ms) out(" signals=%d", (int)nsignals);
        printf("%s\n", line);
        fflush(stdout);
        if (hold) usleep(hold * 1000);
        return 2;
    }
    out(" connect=ok errno_kept=%d", err == SENTINEL);
    if (timing) out(" elapsed_ms=%ld", dt);
    if (alarm_ms || usr1_ms) out(" signals=%d", (int)nsignals);
    apply(fd, post, npost);
    print_opts(fd);
    printf("%s\n", line);
    fflush(stdout);
    if (hold) usleep(hold * 1000);
    return 0;
}
