// hard_fdreuse: an fd number that was a connected TCP socket (with the
// library's options, and a read through its tracked path) is closed behind
// the library's back and reused as a regular file or a UDP socket. Used by
// c-tests/hard/t_hard_fdreuse.sh, which runs it with and without the library and
// compares the transcripts: the file and the UDP socket must behave exactly
// the same.
//
//   hard_fdreuse file|udp|udp_raw close_range|closefrom|sys_close DIR
//
//   file     the number is reused by open() of a new file in DIR
//   udp      ... by socket(AF_INET, SOCK_DGRAM) (which the library sees)
//   udp_raw  ... by syscall(SYS_socket, ...) (which it does not)
//   pipe     ... by the write end of a pipe (moved there with raw syscalls,
//            unseen), written after an idle period once its reader is gone:
//            the kernel's EPIPE and SIGPIPE, not the idle check's refusal
//
// Lines starting with "#" are facts about the first phase (the TCP socket),
// which the test checks apart; every other line is the transcript to compare.
// Exit 0 when the program ran to its end (whatever it observed), 2 on a
// setup error; a 5 s alarm (SIGALRM, which also interrupts a wrongly resumed
// call) bounds it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

static void die(const char *what) {
    printf("setup error: %s: %s\n", what, strerrorname_np(errno));
    fflush(stdout);
    exit(2);
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static const char *en(int e) {
    const char *s = strerrorname_np(e);
    return s ? s : "?";
}

// "= N" or "= -1 ENAME"
static void show(const char *what, long r) {
    if (r < 0) printf("%s = -1 %s\n", what, en(errno));
    else printf("%s = %ld\n", what, r);
}

static volatile sig_atomic_t last_sig, sigpipes;
static void on_sig(int sig) { last_sig = sig; }
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }

static pthread_t main_thread;
static void *kicker(void *arg) {
    (void)arg;
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pthread_kill(main_thread, SIGWINCH);
    return NULL;
}

// Run a blocking call that can only end by a signal: SIGWINCH comes after
// 150 ms (it must interrupt: this is not a TCP socket); a wrongly resumed
// call would go on until SIGALRM (2 s later).
#define INTERRUPTED(label, call)                                                          \
    do {                                                                                  \
        last_sig = 0;                                                                     \
        alarm(2);                                                                         \
        pthread_t kt;                                                                     \
        pthread_create(&kt, NULL, kicker, NULL);                                          \
        long t0 = now_ms();                                                               \
        long r = (long)(call);                                                            \
        int e = errno;                                                                    \
        long el = now_ms() - t0;                                                          \
        alarm(0);                                                                         \
        pthread_join(kt, NULL);                                                           \
        errno = e;                                                                        \
        if (r < 0)                                                                        \
            printf("%s = -1 %s (by %s, %s)\n", label, en(e),                              \
                   last_sig == SIGWINCH ? "SIGWINCH" : last_sig == SIGALRM ? "SIGALRM" : "?", \
                   el < 1000 ? "at once" : "late");                                       \
        else                                                                              \
            printf("%s = %ld\n", label, r);                                               \
    } while (0)

static int sockopt(int fd, int level, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) < 0) return -1000 - errno;
    return v;
}

static void idle_wait(void) {
    // Longer than SOCKFIX_IDLE_CHECK=1s: a write now would be checked.
    struct timespec ts = {1, 300 * 1000 * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: hard_fdreuse file|udp|udp_raw|pipe close_range|closefrom|sys_close DIR\n");
        return 2;
    }
    const char *mode = argv[1], *how = argv[2], *dir = argv[3];
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_thread = pthread_self();
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    // SIGPIPE counted (pipe mode), or ignored.
    sa.sa_handler = !strcmp(mode, "pipe") ? on_sigpipe : SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_sig;  // no SA_RESTART
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    alarm(5);

    // fds, lowest first: L (TCP listener), R (UDP receiver), T (the TCP
    // connection whose number gets reused), A (the accepted end).
    struct sockaddr_in lo = {.sin_family = AF_INET};
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof lo;
    int L = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = lo;
    if (L < 0 || bind(L, (struct sockaddr *)&la, sizeof la) < 0 || listen(L, 8) < 0) die("listen");
    getsockname(L, (struct sockaddr *)&la, &l);
    int R = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ra = lo;
    if (R < 0 || bind(R, (struct sockaddr *)&ra, sizeof ra) < 0) die("udp bind");
    l = sizeof ra;
    getsockname(R, (struct sockaddr *)&ra, &l);

    int T = socket(AF_INET, SOCK_STREAM, 0);
    if (T < 0) die("socket");
    if (connect(T, (struct sockaddr *)&la, sizeof la) < 0) die("connect");
    int A = accept(L, NULL, NULL);
    if (A < 0) die("accept");
    char c;
    if (write(A, "x", 1) != 1 || read(T, &c, 1) != 1) die("phase 1 read");
    struct linger lg = {0, 0};
    socklen_t ll = sizeof lg;
    getsockopt(T, SOL_SOCKET, SO_LINGER, &lg, &ll);
    printf("# phase1 fd=%d keepalive=%d idle=%d linger=%d/%d\n", T, sockopt(T, SOL_SOCKET, SO_KEEPALIVE),
           sockopt(T, IPPROTO_TCP, TCP_KEEPIDLE), lg.l_onoff, lg.l_linger);
    close(A);

    // Behind the library's back.
    int r = -1;
    if (!strcmp(how, "close_range")) r = (int)syscall(SYS_close_range, T, T, 0);
    else if (!strcmp(how, "closefrom")) closefrom(T), r = 0;
    else if (!strcmp(how, "sys_close")) r = (int)syscall(SYS_close, T);
    if (r != 0) die("close behind the back");

    int fd;
    if (!strcmp(mode, "file")) {
        char path[4096];
        snprintf(path, sizeof path, "%s/reused-file", dir);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) die("open");
        printf("reused the number: %s\n", fd == T ? "yes" : "no");
        struct stat st;
        fstat(fd, &st);
        printf("fstat: %s size=%ld\n", S_ISREG(st.st_mode) ? "regular" : "other", (long)st.st_size);
        show("write(hello)", write(fd, "hello\n", 6));
        idle_wait();
        show("write after idle", write(fd, "again\n", 6));
        struct iovec wv[2] = {{"ab", 2}, {"cd\n", 3}};
        show("writev", writev(fd, wv, 2));
        show("send (ENOTSOCK)", send(fd, "x", 1, 0));
        show("sendto (ENOTSOCK)", sendto(fd, "x", 1, 0, (struct sockaddr *)&ra, sizeof ra));
        show("lseek 0", lseek(fd, 0, SEEK_SET));
        char buf[64] = {0};
        show("read", read(fd, buf, sizeof buf - 1));
        printf("content: %s", buf);
        show("lseek 0", lseek(fd, 0, SEEK_SET));
        char b1[3] = {0}, b2[64] = {0};
        struct iovec rv[2] = {{b1, 2}, {b2, sizeof b2 - 1}};
        show("readv", readv(fd, rv, 2));
        printf("readv: [%s][%s]", b1, b2);
        show("read at EOF", read(fd, buf, sizeof buf));
        show("pread 6", pread(fd, buf, 6, 6));
        show("recv (ENOTSOCK)", recv(fd, buf, 1, 0));
        show("recvfrom (ENOTSOCK)", recvfrom(fd, buf, 1, 0, NULL, NULL));
        struct msghdr m = {0};
        struct iovec iv = {buf, 1};
        m.msg_iov = &iv, m.msg_iovlen = 1;
        show("recvmsg (ENOTSOCK)", recvmsg(fd, &m, 0));
        int v = 0;
        socklen_t vl = sizeof v;
        show("getsockopt SO_KEEPALIVE (ENOTSOCK)", getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &vl));
        struct pollfd p = {fd, POLLIN | POLLOUT, 0};
        show("poll", poll(&p, 1, 0));
        printf("poll revents=%#x\n", p.revents);
        show("ftruncate 3", ftruncate(fd, 3));
        show("fsync", fsync(fd));
        show("close", close(fd));
        int f2 = open(path, O_RDONLY);
        memset(buf, 0, sizeof buf);
        show("reread", read(f2, buf, sizeof buf - 1));
        printf("final content: [%s]\n", buf);
        close(f2);
    } else if (!strcmp(mode, "pipe")) {
        int p[2];
        if (pipe(p) < 0) die("pipe");
        // The write end onto T and the read end elsewhere, by raw syscalls:
        // the library's entry for T stays that of the TCP socket.
        int rd = (int)syscall(SYS_fcntl, p[0], F_DUPFD_CLOEXEC, 50);
        if (rd < 0 || syscall(SYS_dup3, p[1], T, 0) != T) die("move the pipe's ends");
        if (p[0] != T) syscall(SYS_close, p[0]);
        if (p[1] != T) syscall(SYS_close, p[1]);
        fd = T;
        printf("reused the number: yes\n");
        show("write(hello)", write(fd, "hello", 5));
        char buf[64] = {0};
        show("reader got", read(rd, buf, sizeof buf - 1));
        syscall(SYS_close, rd);
        idle_wait();
        show("write after idle, the reader gone", write(fd, "again", 5));
        printf("SIGPIPE delivered: %d\n", (int)sigpipes);
        struct iovec wv[2] = {{"a", 1}, {"bc", 2}};
        show("writev", writev(fd, wv, 2));
        printf("SIGPIPE delivered: %d\n", (int)sigpipes);
        show("close", close(fd));
    } else {
        if (!strcmp(mode, "udp")) fd = socket(AF_INET, SOCK_DGRAM, 0);
        else fd = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
        if (fd < 0) die("udp socket");
        printf("reused the number: %s\n", fd == T ? "yes" : "no");
        printf("before connect: SO_KEEPALIVE=%d SO_TYPE=%d\n", sockopt(fd, SOL_SOCKET, SO_KEEPALIVE),
               sockopt(fd, SOL_SOCKET, SO_TYPE));
        show("connect", connect(fd, (struct sockaddr *)&ra, sizeof ra));
        struct sockaddr_in me;
        l = sizeof me;
        getsockname(fd, (struct sockaddr *)&me, &l);
        char ip[64];
        inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
        printf("local address %s, port %s\n", ip, me.sin_port ? "set" : "0");
        lg.l_onoff = lg.l_linger = -1;
        ll = sizeof lg;
        getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &ll);
        unsigned int range = 12345;
        socklen_t rl = sizeof range;
        int rr = getsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, &rl);
        printf("after connect: SO_KEEPALIVE=%d SO_LINGER=%d/%d TCP_KEEPIDLE=%d TCP_USER_TIMEOUT=%d "
               "IP_LOCAL_PORT_RANGE=%s\n",
               sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), lg.l_onoff, lg.l_linger,
               sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), sockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT),
               rr < 0 ? en(errno) : range ? "set" : "0");
        show("send(ping)", send(fd, "ping", 4, 0));
        char buf[64] = {0};
        struct sockaddr_in from;
        l = sizeof from;
        show("receiver got", recvfrom(R, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &l));
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        printf("receiver: [%s] from %s\n", buf, ip);
        idle_wait();
        show("write after idle", write(fd, "pong2", 5));
        memset(buf, 0, sizeof buf);
        show("receiver got", recv(R, buf, sizeof buf - 1, MSG_DONTWAIT));
        printf("receiver: [%s]\n", buf);
        struct iovec wv[2] = {{"a", 1}, {"bc", 2}};
        show("writev", writev(fd, wv, 2));
        memset(buf, 0, sizeof buf);
        show("receiver got", recv(R, buf, sizeof buf - 1, MSG_DONTWAIT));
        // Blocking calls with nothing to receive: a signal must end them.
        INTERRUPTED("read (blocked)", read(fd, buf, sizeof buf));
        INTERRUPTED("recv (blocked)", recv(fd, buf, sizeof buf, 0));
        struct msghdr m = {0};
        struct iovec iv = {buf, sizeof buf};
        m.msg_iov = &iv, m.msg_iovlen = 1;
        INTERRUPTED("recvmsg (blocked)", recvmsg(fd, &m, 0));
        struct pollfd p = {fd, POLLIN, 0};
        INTERRUPTED("poll (blocked)", poll(&p, 1, -1));
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(fd, &rs);
        INTERRUPTED("select (blocked)", select(fd + 1, &rs, NULL, NULL, NULL));
        // And data does arrive.
        l = sizeof me;
        getsockname(fd, (struct sockaddr *)&me, &l);
        show("receiver sends", sendto(R, "data", 4, 0, (struct sockaddr *)&me, sizeof me));
        memset(buf, 0, sizeof buf);
        show("recv", recv(fd, buf, sizeof buf - 1, 0));
        printf("got [%s]\n", buf);
        show("recv MSG_DONTWAIT", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
        show("shutdown", shutdown(fd, SHUT_RDWR));
        show("close", close(fd));
    }
    printf("end\n");
    return 0;
}
