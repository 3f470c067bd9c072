// opt_fdlife: socket-option scenarios where fd numbers and sockets part ways
// (closed behind the library's back and reused, dup, dup2 onto a socket the
// app configured, connect called twice, a refused connect retried, TCP Fast
// Open's sendto). Used by c-tests/opt/t_opt_fdlife.sh.
//
//   opt_fdlife SCENARIO
//
// SCENARIO: reuse-{close,syscall,close_range,closefrom} (the app configured
// fd N its own way, it is closed that way, a new socket gets N),
// reuse_connected-* (the same after connecting N), dup2-onto-configured,
// dup2-onto-connected, dup-onto-stale, fcntl-dupfd-onto-stale,
// fcntl-dupfd-cloexec-onto-stale, scm-rights-onto-stale,
// scm-rights-configured, dup-configured,
// dup-connect, connect-twice, refused-then-ok, fastopen (sendto
// MSG_FASTOPEN), fastopen-sendmsg, fastopen-connect (TCP_FASTOPEN_CONNECT).
//
// Prints one line: "scenario=NAME <facts> keepalive=.. idle=.. intvl=.. cnt=.. user_timeout=.."
// for the socket that ends up connected; exit 0, or 1 with a message on
// stderr when the scenario itself could not be set up.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "opt_util.h"

static void die(const char *what) {
    fprintf(stderr, "opt_fdlife: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void set(int fd, int level, int name, int v) {
    if (setsockopt(fd, level, name, &v, sizeof v) < 0) die("setsockopt");
}

static struct sockaddr_in srv_addr;
static int listener;

static void make_listener(void) {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("listener");
    srv_addr.sin_family = AF_INET;
    srv_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&srv_addr, sizeof srv_addr) < 0) die("bind");
    if (listen(listener, 16) < 0) die("listen");
    socklen_t l = sizeof srv_addr;
    if (getsockname(listener, (struct sockaddr *)&srv_addr, &l) < 0) die("getsockname");
}

static int tcp(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    return fd;
}

static void must_connect(int fd) {
    errno = SENTINEL;
    if (connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) < 0) die("connect");
    out(" errno_kept=%d", errno == SENTINEL);
}

/* A closed port on loopback: bind a socket to get a free port, then close it. */
static struct sockaddr_in closed_port(void) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(s, (struct sockaddr *)&a, &l) < 0)
        die("closed port");
    close(s);
    return a;
}

/* The first socket on fd N: configured the app's way (keepalive off, idle
   77) and/or connected (the library applied its options there). The output
   line starts over after it: only the socket that ends up on N is reported. */
static int first_socket(int configure, int connect_first) {
    int a = tcp();
    if (configure) {
        set(a, SOL_SOCKET, SO_KEEPALIVE, 0);
        set(a, IPPROTO_TCP, TCP_KEEPIDLE, 77);
    }
    if (connect_first) must_connect(a);
    len = 0;
    return a;
}

/* A fresh socket takes fd number A, which the first socket had, by HOW:
     close, syscall, close_range, closefrom: A is closed that way (close(),
         syscall(SYS_close), close_range(A, A), closefrom(A)), then socket()
         reuses the number;
     dup2: a fresh socket is dup2'ed onto A (which closes the first one);
     dup, F_DUPFD, F_DUPFD_CLOEXEC: a fresh socket is made (on A+1), A is
         closed, then dup() (lowest free number) or fcntl(HOW, A) gives A.
   Returns A, now the fresh socket; exits 1 when it does not land on A. */
static int land_on(int a, const char *how) {
    int fd;
    if (!strcmp(how, "dup2") || !strcmp(how, "dup") || !strncmp(how, "F_DUPFD", 7)) {
        int b = tcp();
        if (!strcmp(how, "dup2")) fd = dup2(b, a);
        else {
            close(a);
            if (!strcmp(how, "dup")) fd = dup(b);
            else if (!strcmp(how, "F_DUPFD")) fd = fcntl(b, F_DUPFD, a);
            else fd = fcntl(b, F_DUPFD_CLOEXEC, a);
        }
        if (fd < 0) die(how);
        close(b);
    } else {
        if (!strcmp(how, "close")) close(a);
        else if (!strcmp(how, "syscall")) syscall(SYS_close, a);
        else if (!strcmp(how, "close_range")) {
            if (syscall(SYS_close_range, a, a, 0) < 0) die("close_range");
        } else if (!strcmp(how, "closefrom")) closefrom(a);
        else { fprintf(stderr, "opt_fdlife: no way to close \"%s\"\n", how); exit(1); }
        fd = tcp();
    }
    if (fd != a) { fprintf(stderr, "opt_fdlife: %s gave fd %d, not %d\n", how, fd, a); exit(1); }
    return fd;
}

/* The scenarios where a fresh socket lands on the number of a first socket
   (first_socket's CONFIGURE, CONNECT), by HOW (land_on), and is connected
   through that number. reuse-* and reuse_connected-* take HOW from their
   name. */
static const struct { const char *name; int configure, connect; const char *how; } landings[] = {
    /* The app configured fd A (keepalive off, idle 77), or configured and
       connected it; it is closed and a new socket gets A: treated afresh. */
    { "reuse-", 1, 0, NULL },
    { "reuse_connected-", 1, 1, NULL },
    /* fd A was configured by the app; a fresh socket is dup2'ed onto A's
       number, then connected through A. */
    { "dup2-onto-configured", 1, 0, "dup2" },
    /* fd A was a connection (the library applied its options there); the
       app keeps the fd number for its next connection: a fresh socket is
       dup2'ed onto A and connected through A. */
    { "dup2-onto-connected", 0, 1, "dup2" },
    /* A connection on fd N is closed; a new socket made meanwhile on N+1 is
       dup()ed (lowest free number: N), or fcntl(F_DUPFD / F_DUPFD_CLOEXEC,
       N)ed, and connected as N. */
    { "dup-onto-stale", 0, 1, "dup" },
    { "fcntl-dupfd-onto-stale", 0, 1, "F_DUPFD" },
    { "fcntl-dupfd-cloexec-onto-stale", 0, 1, "F_DUPFD_CLOEXEC" },
};

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: opt_fdlife SCENARIO\n"); return 1; }
    const char *sc = argv[1];
    make_listener();
    int fd;

    const char *how = NULL;
    size_t k;
    for (k = 0; k < sizeof landings / sizeof landings[0]; k++) {
        const char *n = landings[k].name;
        if (landings[k].how ? !strcmp(sc, n) : !strncmp(sc, n, strlen(n))) {
            how = landings[k].how ? landings[k].how : sc + strlen(n);
            break;
        }
    }

    if (how) {
        int a = first_socket(landings[k].configure, landings[k].connect);
        fd = land_on(a, how);
        out("scenario=%s", sc);
        must_connect(fd);
    } else if (!strcmp(sc, "scm-rights-onto-stale") || !strcmp(sc, "scm-rights-configured")) {
        /* onto-stale: a connection on N closed; a fresh TCP socket arrives
           by SCM_RIGHTS and lands on N (the lowest free number); connected
           as N. configured: the app set TCP_KEEPIDLE=77 on the socket before
           passing it (to itself); connected after receiving it. */
        int stale = !strcmp(sc, "scm-rights-onto-stale");
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) die("socketpair");
        int a = stale ? first_socket(0, 1) : -1;
        int b = tcp();
        if (!stale) set(b, IPPROTO_TCP, TCP_KEEPIDLE, 77);
        char byte = 'x';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
        memset(&u, 0, sizeof u);
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &b, sizeof b);
        if (sendmsg(sp[0], &m, 0) != 1) die("sendmsg SCM_RIGHTS");
        /* configured: b stays open until the socket is received, so it
           arrives under a number this process never used (as it would in
           another process). */
        if (stale) close(b), close(a);
        memset(&u, 0, sizeof u);
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        if (recvmsg(sp[1], &m, 0) != 1) die("recvmsg SCM_RIGHTS");
        c = CMSG_FIRSTHDR(&m);
        if (!c || c->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "opt_fdlife: no fd received\n"); exit(1); }
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        if (stale && fd != a) { fprintf(stderr, "opt_fdlife: received fd %d, not %d\n", fd, a); exit(1); }
        if (!stale) close(b);
        out("scenario=%s", sc);
        must_connect(fd);
    } else if (!strcmp(sc, "dup-configured")) {
        /* The app sets idle 77, dups the fd, closes the original and
           connects the duplicate: still the app's 77. */
        int a = tcp();
        set(a, IPPROTO_TCP, TCP_KEEPIDLE, 77);
        fd = dup(a);
        if (fd < 0) die("dup");
        close(a);
        out("scenario=%s", sc);
        must_connect(fd);
    } else if (!strcmp(sc, "dup-connect")) {
        /* A plain socket connected through a dup: it gets the settings. */
        int a = tcp();
        fd = fcntl(a, F_DUPFD_CLOEXEC, 100);
        if (fd < 0) die("dup");
        close(a);
        out("scenario=%s", sc);
        must_connect(fd);
    } else if (!strcmp(sc, "connect-twice")) {
        /* Non-blocking connect, EINPROGRESS, then the app sets idle 66 and
           calls connect() again (EISCONN or EALREADY): the second call must
           not apply the settings over the app's. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) die("socket");
        errno = SENTINEL;
        int rc = connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr);
        out("scenario=%s first=%s", sc, rc == 0 ? "0" : strerrorname_np(errno));
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, 5000) != 1) die("poll");
        set(fd, IPPROTO_TCP, TCP_KEEPIDLE, 66);
        set(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
        errno = SENTINEL;
        rc = connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr);
        out(" second=%s", rc == 0 ? "0" : strerrorname_np(errno));
    } else if (!strcmp(sc, "refused-then-ok")) {
        /* A refused connect (errno must stay ECONNREFUSED), then the app
           connects a new socket on the same fd number... and, on Linux, the
           same socket again: both must get the settings. */
        struct sockaddr_in cp = closed_port();
        fd = tcp();
        errno = SENTINEL;
        int rc = connect(fd, (struct sockaddr *)&cp, sizeof cp);
        out("scenario=%s refused=%s", sc, rc == 0 ? "0" : strerrorname_np(errno));
        errno = SENTINEL;
        rc = connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr);
        out(" retry=%s", rc == 0 ? "0" : strerrorname_np(errno));
        if (rc < 0) { printf("%s\n", line); return 0; }
    } else if (!strcmp(sc, "fastopen") || !strcmp(sc, "fastopen-sendmsg")) {
        /* TCP Fast Open: sendto(MSG_FASTOPEN), or sendmsg(MSG_FASTOPEN) with
           msg_name, connects without connect(). */
        int use_sendmsg = !strcmp(sc, "fastopen-sendmsg");
        int one = 5;
        setsockopt(listener, IPPROTO_TCP, TCP_FASTOPEN, &one, sizeof one);
        fd = tcp();
        char byte = 'x';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr m = { .msg_name = &srv_addr, .msg_namelen = sizeof srv_addr, .msg_iov = &iov, .msg_iovlen = 1 };
        errno = SENTINEL;
        ssize_t n = use_sendmsg ? sendmsg(fd, &m, MSG_FASTOPEN)
                                : sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&srv_addr, sizeof srv_addr);
        out("scenario=%s %s=%s", sc, use_sendmsg ? "sendmsg" : "sendto", n == 1 ? "1" : strerrorname_np(errno));
        if (n != 1) { printf("%s\n", line); return 0; }
        int a = accept(listener, NULL, NULL);
        (void)a;
    } else if (!strcmp(sc, "fastopen-connect")) {
        /* TCP_FASTOPEN_CONNECT: connect() returns at once, data goes later. */
        int one = 1;
        fd = tcp();
        if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one) < 0) die("TCP_FASTOPEN_CONNECT");
        out("scenario=%s", sc);
        must_connect(fd);
    } else {
        fprintf(stderr, "opt_fdlife: unknown scenario %s\n", sc);
        return 1;
    }
    print_opts(fd);
    printf("%s\n", line);
    return 0;
}
