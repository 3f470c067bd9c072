/* A TCP socket that was non-blocking and is blocking again: its blocking
 * reads (and writes) must be resumed after an outside SIGWINCH/SIGHUP like
 * any other's.
 *
 * A call on a non-blocking socket cannot be interrupted, but sockfix does
 * not take a socket's blocking mode from the calls it sees and skip the
 * resume on it: a library that did would lose the resume wherever the mode
 * changed unseen. Each mode walks one connection on 127.0.0.1 through a
 * history of blocking-mode changes, checking every step (a read in the
 * non-blocking state must give EAGAIN; at the end F_GETFL must show a
 * blocking socket), then makes blocking calls while another process sends
 * SIGWINCH+SIGHUP every 30 ms; the handlers for both were installed first,
 * without SA_RESTART. The peer sends its 3 chunks of 1000 bytes at 600 ms and
 * then 200 ms apart, so the reads really block. An EINTR is counted and the
 * call made again.
 *
 * The writer (or reader) and the storm are this program again (the helper
 * modes), started with posix_spawn once the connection is made and before
 * the rest of the history (for sock-fcntl, accept4 and accept-nb-listener
 * the connection is its first step), and released through a pipe after it:
 * a fork after the history would run fork handlers, and a library that
 * follows fork could then take the socket for shared and hide a gap. Only
 * the modes whose subject is a fork (fork-child, fork-then-nb, _Fork) fork.
 *
 * Histories a library can follow (t_intr_nonblock):
 *   sock-fcntl     socket(SOCK_STREAM|SOCK_NONBLOCK), connect -> EINPROGRESS,
 *                  poll; fcntl(F_SETFL) clears O_NONBLOCK
 *   fcntl-on-off   blocking socket; fcntl sets O_NONBLOCK, fcntl clears it
 *   fcntl64        the same through fcntl64() (glibc 2.28 and later)
 *   ioctl          ioctl(FIONBIO, 1), then ioctl(FIONBIO, 0)
 *   fcntl-fcntl64  fcntl sets O_NONBLOCK, fcntl64 clears it
 *   fcntl-ioctl    fcntl sets O_NONBLOCK, ioctl(FIONBIO, 0) clears it
 *                  (these two fail if only one of the calls is seen)
 *   recv           as ioctl, but every read (the EAGAIN one too) is recv()
 *   accept4        the reads are on the accepted side: accept4(SOCK_NONBLOCK),
 *                  then fcntl clears O_NONBLOCK there
 *   accept-nb-listener  a listener made non-blocking (fcntl); a plain accept()
 *                  gives a blocking socket (accept(2): O_NONBLOCK is not
 *                  inherited), read on that
 *   dup-after      fcntl sets O_NONBLOCK on fd; fd2 = dup(fd); fcntl clears
 *                  it through fd2; the reads are on fd
 *   dup-before     fd2 = dup(fd) first; set through fd, clear through fd2;
 *                  reads on fd
 *   dup-copy       fd2 = dup(fd); set through fd2, clear through fd; the
 *                  reads are on the duplicate fd2
 *   dup2 dup3 fdupfd  as dup-after, the duplicate made by dup2(fd, 200),
 *                  dup3(fd, 201, O_CLOEXEC) or fcntl(fd, F_DUPFD_CLOEXEC, 150)
 *   scm-received   fd2 = fd received back over a UNIX socketpair (SCM_RIGHTS,
 *                  recvmsg); set through fd2, clear through fd; reads on fd2
 *   scm-sender     fcntl sets O_NONBLOCK on fd; fd is sent to this process
 *                  itself with SCM_RIGHTS (received as fd2), which clears it
 *                  through fd2; the reads are on the sender's fd
 *   fork-child     fcntl sets O_NONBLOCK on fd; a fork child clears it on its
 *                  copy (the same open file) and exits; the parent reads fd
 *   write          as fcntl-on-off, but the blocking call is a write() of
 *                  2 MB through 16 KiB socket buffers into a peer that reads
 *                  only from 600 ms on (and checks every byte)
 *
 * Histories no preload library sees (t_intr_nonblock_gaps):
 *   fork-then-nb   fork() while the socket is blocking (the child keeps its
 *                  copy); the parent then sets O_NONBLOCK (fcntl), the
 *                  child clears it on its copy and exits; the parent reads.
 *   ioctl-hibits   fcntl sets O_NONBLOCK; ioctl(fd, FIONBIO | 1UL << 32,
 *                  &zero) clears it: the kernel takes the request as an
 *                  unsigned int (FIONBIO).
 *   __fcntl        fcntl sets O_NONBLOCK; __fcntl (exported by glibc,
 *                  GLIBC_2.2.5, the same function as fcntl) clears it.
 *   _Fork          fcntl sets O_NONBLOCK; a child made with _Fork()
 *                  (glibc 2.34, runs no fork handlers) clears it and exits.
 *   setfl-race     fcntl(F_SETFL, O_NONBLOCK) and, between the kernel's
 *                  change and the return to the caller (where a hook would
 *                  note it), a complete fcntl(F_SETFL, blocking) (as
 *                  another thread, or a signal handler, can do): the kernel
 *                  ends blocking. The interleaving is forced with seccomp:
 *                  the F_SETFL that sets O_NONBLOCK traps (SIGSYS), the
 *                  handler makes it (raw syscall), then calls fcntl to make
 *                  the socket blocking, and returns 0 as the call's result.
 *   __dup2         fcntl sets O_NONBLOCK; a copy made by __dup2(fd, 150)
 *                  (glibc's exported alias of dup2) clears it
 *   recvmmsg-reuse a non-blocking TCP socket is closed and a blocking one
 *                  received with recvmmsg (SCM_RIGHTS) onto its number
 *   system         fcntl sets O_NONBLOCK; a program run by system() (glibc:
 *                  posix_spawn, no fork handlers) clears it on the fd it
 *                  inherited
 * and the harness itself:
 *   control-plain  never non-blocking
 *
 *   left-nonblock  no signals: a socket left non-blocking (by SOCK_NONBLOCK,
 *                  fcntl, fcntl64, ioctl(FIONBIO), accept4(SOCK_NONBLOCK))
 *                  gives read and recv -1/EAGAIN when nothing is there and
 *                  the data when it is, write -1/EAGAIN when the send buffer
 *                  is full, and stays non-blocking: sockfix changes nothing
 *
 * Helper modes (this program run by itself): helper-writer PEER GO,
 * helper-reader PEER GO, helper-storm PID GO (wait for a byte on the pipe GO,
 * then write the 3 chunks, read and check the 2 MB, or signal PID), and
 * clear FD (clears O_NONBLOCK on FD; the program system() runs).
 *
 * usage: intr_nonblock MODE
 * Prints "step: ..." for each change, then "result=<ok|eintr|eagain|eof|error>
 * eintr=N elapsed_ms=N bytes=N want=N" and "handled: ..."; exit codes as in
 * intr_common.h: 0 all data right and no EINTR, 3 EINTR reached the program
 * (the data is still moved to the end), 4 EAGAIN (the socket was not
 * blocking), 77 not available here, 1 anything else.
 */
#include "intr_common.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 28)
#define HAVE_FCNTL64 1
/* Declared by <fcntl.h> only with _LARGEFILE64_SOURCE (which _GNU_SOURCE
 * gives); said again here for any header that does not. */
extern int fcntl64(int fd, int cmd, ...);
#else
#define HAVE_FCNTL64 0
#endif
/* glibc's exported aliases of fcntl and dup2, declared by no header. */
extern int __fcntl(int fd, int cmd, ...);
extern int __dup2(int fd, int fd2);

#define DELAY_MS 600L
#define GAP_MS 200L
#define CHUNK 1000
#define CHUNKS 3
#define WRITE_TOTAL (2u << 20)
#define SMALL_BUF 16384

/* ---------- the changes of blocking mode ---------- */

/* fcntl(F_GETFL / F_SETFL) through fcntl ('f'), fcntl64 ('6') or __fcntl
 * ('_'). */
static int fcntl_via(char via, int fd, int cmd, int arg)
{
    if (via == '_')
        return __fcntl(fd, cmd, arg);
    if (via == '6') {
#if HAVE_FCNTL64
        return fcntl64(fd, cmd, arg);
#else
        printf("no fcntl64 in this C library (glibc before 2.28)\n");
        exit(RC_SKIP);
#endif
    }
    return fcntl(fd, cmd, arg);
}

/* O_NONBLOCK on or off with F_SETFL, through the call fcntl_via names. */
static void set_fl(int fd, int on, char via)
{
    int fl = fcntl_via(via, fd, F_GETFL, 0);
    if (fl < 0)
        die("F_GETFL on fd %d", fd);
    fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    if (fcntl_via(via, fd, F_SETFL, fl) != 0)
        die("F_SETFL on fd %d", fd);
    printf("step: %s(fd %d, F_SETFL) %s O_NONBLOCK\n", via == '6' ? "fcntl64" : via == '_' ? "__fcntl" : "fcntl", fd,
           on ? "sets" : "clears");
}

/* ioctl(FIONBIO); hibits: bit 32 set in the request, which the kernel
 * drops (it takes the request as an unsigned int). */
static void set_fionbio(int fd, int on, int hibits)
{
    int v = on;
    unsigned long req = (unsigned long)FIONBIO | (hibits ? 1UL << 32 : 0);
    if (ioctl(fd, req, &v) != 0)
        die("ioctl(%d, FIONBIO%s, %d)", fd, hibits ? " | 1 << 32" : "", on);
    printf("step: ioctl(fd %d, FIONBIO%s, %d)\n", fd, hibits ? " | 1UL << 32" : "", on);
}

/* One change: 'f' '6' '_' as in fcntl_via, 'i' ioctl(FIONBIO), 'h' the same
 * with the high bits. */
static void change(int fd, int on, char how)
{
    if (how == 'i' || how == 'h')
        set_fionbio(fd, on, how == 'h');
    else
        set_fl(fd, on, how);
}

/* O_NONBLOCK off, saying nothing (in a child, and in the "clear" helper). */
static int clear_quietly(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) ? 1 : 0;
}

static int is_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        die("F_GETFL on fd %d", fd);
    return (fl & O_NONBLOCK) != 0;
}

/* A read in the non-blocking state, with nothing sent yet: -1/EAGAIN. */
static void expect_eagain(int fd, const char *call)
{
    unsigned char b[16];
    errno = 0;
    ssize_t n = read_as(call, fd, b, sizeof b);
    int e = errno;
    if (n != -1 || (e != EAGAIN && e != EWOULDBLOCK)) {
        printf("ERROR: %s on the non-blocking fd %d returned %zd (%s), expected -1 EAGAIN\n", call, fd, n,
               n < 0 ? strerror(e) : "data");
        exit(RC_ERR);
    }
    printf("step: %s(fd %d) -> -1 EAGAIN, as a non-blocking socket should\n", call, fd);
}

static void wait_ok(pid_t k, const char *what)
{
    int st = 0;
    if (!child_ok(k, &st))
        die("%s failed (status 0x%x)", what, st);
}

/* ---------- connections ---------- */

/* A non-blocking connect: EINPROGRESS (or at once), then poll and SO_ERROR. */
static void connect_nb(int c, const struct sockaddr_in *a)
{
    if (connect(c, (const struct sockaddr *)a, sizeof *a) == 0) {
        printf("step: non-blocking connect done at once\n");
        return;
    }
    if (errno != EINPROGRESS)
        die("non-blocking connect");
    wait_connected(c);
    printf("step: connect(fd %d) -> EINPROGRESS, poll, connected\n", c);
}

/* The ways a connection is made. *mine is the end this program works on,
 * *peer the other end. */
enum how { PLAIN, SOCK_NB, ACCEPT4_NB, ACCEPT_NB_LISTENER };

static void connection(enum how how, int *mine, int *peer, int small)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    /* Small buffers (write mode): the peer's receive buffer through the
     * listener, ours on the client before connect. */
    int l = tcp_listener(AF_INET, &ss, &sl, small ? SMALL_BUF : 0);
    const struct sockaddr_in a = *(struct sockaddr_in *)&ss;
    if (how == ACCEPT_NB_LISTENER && fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK))
        die("non-blocking listener");
    int c = socket(AF_INET, SOCK_STREAM | (how == SOCK_NB ? SOCK_NONBLOCK : 0), 0);
    if (c < 0)
        die("socket");
    if (small)
        setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    if (how == SOCK_NB) {
        printf("step: socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK) = fd %d\n", c);
        connect_nb(c, &a);
    } else if (connect(c, (struct sockaddr *)&a, sizeof a)) {
        die("connect");
    }
    int s;
    if (how == ACCEPT4_NB) {
        s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
        if (s < 0)
            die("accept4");
        printf("step: accept4(SOCK_NONBLOCK) = fd %d\n", s);
    } else if (how == ACCEPT_NB_LISTENER) {
        struct pollfd p = { l, POLLIN, 0 };
        if (poll(&p, 1, 5000) != 1)
            die("poll the listener");
        s = accept(l, NULL, NULL);
        if (s < 0)
            die("accept");
        printf("step: accept() on the non-blocking listener fd %d = fd %d\n", l, s);
    } else {
        s = accept(l, NULL, NULL);
        if (s < 0)
            die("accept");
    }
    close(l);
    int accepted_side = how == ACCEPT4_NB || how == ACCEPT_NB_LISTENER;
    *mine = accepted_side ? s : c;
    *peer = accepted_side ? c : s;
}

/* fd sent over the UNIX socketpair sp with SCM_RIGHTS and received back
 * (with recvmsg, or recvmmsg when mmsg); returns the new number. */
static int pass_fd(const int sp[2], int fd, int mmsg)
{
    char byte = 'x';
    struct iovec iov = { &byte, 1 };
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.b;
    mh.msg_controllen = sizeof ctl.b;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    if (sendmsg(sp[0], &mh, 0) != 1)
        die("sendmsg SCM_RIGHTS");
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.b;
    mh.msg_controllen = sizeof ctl.b;
    if (mmsg) {
        struct mmsghdr mm;
        memset(&mm, 0, sizeof mm);
        mm.msg_hdr = mh;
        if (recvmmsg(sp[1], &mm, 1, 0, NULL) != 1)
            die("recvmmsg SCM_RIGHTS");
        mh = mm.msg_hdr;
    } else if (recvmsg(sp[1], &mh, 0) != 1) {
        die("recvmsg SCM_RIGHTS");
    }
    cm = CMSG_FIRSTHDR(&mh);
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        die("no fd received");
    int got;
    memcpy(&got, CMSG_DATA(cm), sizeof got);
    printf("step: fd %d sent with SCM_RIGHTS, received with %s as fd %d\n", fd, mmsg ? "recvmmsg" : "recvmsg", got);
    return got;
}

/* fd received back over a new UNIX socketpair (recvmsg). */
static int pass_to_self(int fd)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
        die("socketpair");
    int got = pass_fd(sp, fd, 0);
    close(sp[0]);
    close(sp[1]);
    return got;
}

static int dup_as(const char *how, int fd)
{
    int d;
    if (!strcmp(how, "dup2"))
        d = dup2(fd, 200);
    else if (!strcmp(how, "__dup2"))
        d = __dup2(fd, 150);
    else if (!strcmp(how, "dup3"))
        d = dup3(fd, 201, O_CLOEXEC);
    else if (!strcmp(how, "fdupfd"))
        d = fcntl(fd, F_DUPFD_CLOEXEC, 150);
    else
        d = dup(fd);
    if (d < 0)
        die("%s(%d)", how, fd);
    printf("step: %s(fd %d) = fd %d\n", !strcmp(how, "fdupfd") ? "fcntl(F_DUPFD_CLOEXEC)" : how, fd, d);
    return d;
}

/* ---------- left non-blocking: results unchanged, no signals ---------- */

static int check_left_nonblock(const char *way)
{
    int fd, peer;
    if (!strcmp(way, "SOCK_NONBLOCK")) {
        connection(SOCK_NB, &fd, &peer, SMALL_BUF);
    } else if (!strcmp(way, "accept4")) {
        connection(ACCEPT4_NB, &fd, &peer, 0);
        /* Small buffers on the accepted side, for the full-buffer write. */
        int small = SMALL_BUF;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    } else {
        connection(PLAIN, &fd, &peer, SMALL_BUF);
        change(fd, 1, !strcmp(way, "fcntl") ? 'f' : !strcmp(way, "fcntl64") ? '6' : 'i');
    }
    expect_eagain(fd, "read");
    expect_eagain(fd, "recv");
    const char msg[] = "ping through a non-blocking socket";
    if (write(peer, msg, sizeof msg) != (ssize_t)sizeof msg)
        die("peer write");
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 3000) != 1)
        die("poll for the data");
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n != (ssize_t)sizeof msg || memcmp(buf, msg, sizeof msg)) {
        printf("ERROR %s: read returned %zd (%s), expected the %zu bytes sent\n", way, n,
               n < 0 ? strerror(errno) : "wrong data", sizeof msg);
        return RC_ERR;
    }
    expect_eagain(fd, "read");
    /* The peer never reads: the send buffer fills, then write says EAGAIN. */
    static char junk[4096];
    long sent = 0;
    int full = 0;
    for (int i = 0; i < 20000 && !full; i++) {
        ssize_t w = write(fd, junk, sizeof junk);
        if (w > 0)
            sent += w;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            full = 1;
        else
            die("write on the non-blocking fd %d returned %zd", fd, w);
    }
    if (!full) {
        printf("ERROR %s: %ld bytes written and no EAGAIN\n", way, sent);
        return RC_ERR;
    }
    if (!is_nonblocking(fd)) {
        printf("ERROR %s: the socket is no longer non-blocking\n", way);
        return RC_ERR;
    }
    printf("ok %s: read/recv EAGAIN when empty, the %zu bytes when sent, write EAGAIN after %ld bytes\n", way,
           sizeof msg, sent);
    close(fd);
    close(peer);
    return RC_OK;
}

static int left_nonblock(void)
{
    const char *ways[] = { "SOCK_NONBLOCK", "fcntl", "fcntl64", "ioctl", "accept4" };
    int rc = RC_OK;
    long t0 = now_ms();
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        if (!HAVE_FCNTL64 && !strcmp(ways[i], "fcntl64"))
            continue;
        if (check_left_nonblock(ways[i]) != RC_OK)
            rc = RC_ERR;
    }
    printf("result=%s eintr=0 elapsed_ms=%ld bytes=0 want=0\n", rc == RC_OK ? "ok" : "error", now_ms() - t0);
    return rc;
}

/* ---------- the helpers: this program again, spawned before the history ---------- */

static pid_t peer_pid, storm_pid; /* the writer (or reader) and the storm */
static int go_fd = -1;

/* A helper's start: dies with the parent, waits for the byte on go. */
static void helper_wait(int go)
{
    char b;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGALRM, SIG_DFL);
    alarm(60);
    if (read(go, &b, 1) != 1)
        _exit(1);
}

/* The helper modes; returns only if argv names none. */
static void helper_main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "clear"))
        exit(clear_quietly(atoi(argv[2])));
    if (argc != 4 || strncmp(argv[1], "helper-", 7))
        return;
    int a = atoi(argv[2]), go = atoi(argv[3]);
    helper_wait(go);
    if (!strcmp(argv[1], "helper-writer"))
        writer_run(a, DELAY_MS, CHUNKS, GAP_MS, CHUNK);
    if (!strcmp(argv[1], "helper-reader")) {
        sleep_ms(DELAY_MS);
        _exit(pat_read_all(a, 1, WRITE_TOTAL));
    }
    if (!strcmp(argv[1], "helper-storm")) {
        int sigs[2] = { SIGWINCH, SIGHUP };
        storm_run((pid_t)a, sigs, 2, 30, 30, 300);
    }
    _exit(1);
}

static int self_exe(char *exe, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", exe, size - 1);
    if (n <= 0)
        die("readlink /proc/self/exe");
    exe[n] = 0;
    return 0;
}

/* Spawn this program as "WHAT A GO", without the fds in shut[]. */
static pid_t spawn_self(const char *what, int a, int go, const int *shut, int nshut)
{
    char exe[512], sa[32], sg[32];
    self_exe(exe, sizeof exe);
    snprintf(sa, sizeof sa, "%d", a);
    snprintf(sg, sizeof sg, "%d", go);
    char *args[] = { exe, (char *)what, sa, sg, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < nshut; i++)
        posix_spawn_file_actions_addclose(&fa, shut[i]);
    pid_t pid;
    extern char **environ;
    int e = posix_spawn(&pid, exe, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        errno = e;
        die("posix_spawn %s", what);
    }
    return pid;
}

/* The peer's helper (the writer, or for writes the reader) holds peer; the
 * storm signals this process. Both wait for helpers_go(). */
static void helpers_start(int fd, int peer, int writing)
{
    int go[2];
    if (pipe(go))
        die("pipe");
    fflush(stdout);
    int shut[3] = { fd, go[1], peer };
    peer_pid = spawn_self(writing ? "helper-reader" : "helper-writer", peer, go[0], shut, 2);
    storm_pid = spawn_self("helper-storm", (int)getpid(), go[0], shut, 3);
    close(go[0]);
    close(peer);
    go_fd = go[1];
}

static void helpers_go(void)
{
    if (write(go_fd, "gg", 2) != 2)
        die("write go");
    close(go_fd);
}

/* ---------- the blocking calls under the storm ---------- */

static const char *rc_name(int rc)
{
    return rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : rc == RC_EAGAIN ? "eagain" : rc == RC_EOF ? "eof" : "error";
}

/* Blocking calls on fd (read_as CALL, or write) until the peer's 3000 bytes
 * are in, or the 2 MB are out; an EINTR is counted and the call made again. */
static int blocking_calls(int fd, const char *call)
{
    int writing = !strcmp(call, "write");
    size_t want = writing ? WRITE_TOTAL : (size_t)CHUNKS * CHUNK, done = 0;
    unsigned char *buf = malloc(want);
    if (!buf)
        die("malloc");
    if (writing)
        pat_fill(buf, 0, want);
    helpers_go();
    int eintr = 0, rc = RC_OK;
    long t0 = now_ms();
    while (done < want && now_ms() - t0 < 8000) {
        ssize_t n = writing ? write(fd, buf + done, want - done) : read_as(call, fd, buf + done, want - done);
        if (n < 0 && errno == EINTR) {
            eintr++;
            continue;
        }
        if (n < 0) {
            printf("%s(fd %d): %s after %zu bytes\n", call, fd, strerror(errno), done);
            rc = errno == EAGAIN || errno == EWOULDBLOCK ? RC_EAGAIN : RC_ERR;
            break;
        }
        if (n == 0) {
            printf("%s(fd %d): EOF after %zu bytes\n", call, fd, done);
            rc = RC_EOF;
            break;
        }
        done += (size_t)n;
    }
    long elapsed = now_ms() - t0;
    stop_child(storm_pid);
    if (rc == RC_OK && done < want) {
        printf("only %zu of %zu bytes in 8 s\n", done, want);
        rc = RC_ERR;
    }
    if (writing)
        rc = end_helper(fd, peer_pid, rc, "peer");
    else
        stop_child(peer_pid);
    if (!writing && rc == RC_OK && pat_check(buf, 0, want) >= 0) {
        printf("DATA CORRUPTED at byte %ld\n", pat_check(buf, 0, want));
        rc = RC_ERR;
    }
    free(buf);
    if (rc == RC_OK && eintr)
        rc = RC_EINTR;
    printf("result=%s eintr=%d elapsed_ms=%ld bytes=%zu want=%zu\n", rc_name(rc), eintr, elapsed, done, want);
    print_hits();
    return rc;
}

/* ---------- setfl-race: seccomp forces the interleaving ---------- */

#define MARK_HI 0x100u /* bit 40 of the argument: the kernel takes an int */
static int race_fd = -1;
static int race_fl;
static volatile sig_atomic_t race_done;

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    int e = errno;
    /* The trapped call, made now ("thread A" in the kernel)... */
    long r = syscall(SYS_fcntl, race_fd, F_SETFL, (long)(race_fl | O_NONBLOCK) | ((long)MARK_HI << 32));
    /* ...then "thread B" makes the socket blocking again, through libc. */
    fcntl(race_fd, F_SETFL, race_fl & ~O_NONBLOCK);
    race_done = 1;
    uc->uc_mcontext.gregs[REG_RAX] = r;
    errno = e;
}

static int install_race_filter(void)
{
#if defined(__x86_64__)
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xC000003E /* AUDIT_ARCH_X86_64 */, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fcntl, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETFL, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_NONBLOCK, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + 4),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MARK_HI, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog prog = { (unsigned short)(sizeof f / sizeof f[0]), f };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL))
        die("sigaction SIGSYS");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        printf("no seccomp filter here: %s\n", strerror(errno));
        return -1;
    }
    return 0;
#else
    printf("setfl-race: x86_64 only\n");
    return -1;
#endif
}

/* ---------- the histories ---------- */

/* Set with one call, check EAGAIN, clear with another (see change()). */
static const struct { const char *mode; char on, off; } on_off[] = {
    { "sock-fcntl", 0, 'f' },   /* made non-blocking by the connection */
    { "accept4", 0, 'f' },      /* the same */
    { "fcntl-on-off", 'f', 'f' }, { "write", 'f', 'f' },
    { "fcntl64", '6', '6' },    { "fcntl-fcntl64", 'f', '6' },
    { "fcntl-ioctl", 'f', 'i' },
    { "ioctl", 'i', 'i' },      { "recv", 'i', 'i' },
    { "ioctl-hibits", 'f', 'h' }, { "__fcntl", 'f', '_' },
};

/* Set through fd, clear through a copy made after; reads on fd. */
static const char *const dup_after[][2] = {
    { "dup-after", "dup" }, { "dup2", "dup2" },
    { "dup3", "dup3" },     { "fdupfd", "fdupfd" },   { "__dup2", "__dup2" },
};

static pid_t fork_as(const char *mode)
{
    fflush(stdout);
    pid_t k;
    if (!strcmp(mode, "_Fork")) {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
        k = _Fork();
#else
        printf("no _Fork in this C library\n");
        exit(RC_SKIP);
#endif
    } else {
        k = fork();
    }
    if (k < 0)
        die("%s", mode);
    return k;
}

/* Walks *fdp through the mode's history (after the connection); *fdp may
 * change to the fd the calls are made on. Returns RC_OK, -1 for an unknown
 * mode, or what main is to return (RC_SKIP, RC_ERR). */
static int history(const char *mode, int *fdp, const char *call)
{
    int fd = *fdp;
    for (size_t i = 0; i < sizeof on_off / sizeof on_off[0]; i++)
        if (!strcmp(mode, on_off[i].mode)) {
            if (on_off[i].on)
                change(fd, 1, on_off[i].on);
            expect_eagain(fd, call);
            change(fd, 0, on_off[i].off);
            return RC_OK;
        }
    for (size_t i = 0; i < sizeof dup_after / sizeof dup_after[0]; i++)
        if (!strcmp(mode, dup_after[i][0])) {
            change(fd, 1, 'f');
            expect_eagain(fd, call);
            change(dup_as(dup_after[i][1], fd), 0, 'f');
            return RC_OK;
        }
    if (!strcmp(mode, "control-plain")) {
        printf("step: fd %d never made non-blocking\n", fd);
    } else if (!strcmp(mode, "accept-nb-listener")) {
        /* The history was in the connection. */
    } else if (!strcmp(mode, "dup-before")) {
        int fd2 = dup_as("dup", fd);
        change(fd, 1, 'f');
        expect_eagain(fd, call);
        change(fd2, 0, 'f');
    } else if (!strcmp(mode, "dup-copy") || !strcmp(mode, "scm-received")) {
        int fd2 = !strcmp(mode, "dup-copy") ? dup_as("dup", fd) : pass_to_self(fd);
        change(fd2, 1, 'f');
        expect_eagain(fd2, call);
        change(fd, 0, 'f');
        *fdp = fd2; /* the reads are on the copy */
    } else if (!strcmp(mode, "scm-sender")) {
        change(fd, 1, 'f');
        expect_eagain(fd, call);
        change(pass_to_self(fd), 0, 'f');
    } else if (!strcmp(mode, "fork-child") || !strcmp(mode, "_Fork")) {
        change(fd, 1, 'f');
        expect_eagain(fd, call);
        pid_t k = fork_as(mode);
        if (k == 0)
            _exit(clear_quietly(fd));
        wait_ok(k, "the child that clears O_NONBLOCK");
        printf("step: a %s() child cleared O_NONBLOCK on its copy of fd %d and exited\n",
               !strcmp(mode, "_Fork") ? "_Fork" : "fork", fd);
    } else if (!strcmp(mode, "fork-then-nb")) {
        int go[2];
        if (pipe(go))
            die("pipe");
        pid_t k = fork_as(mode);
        if (k == 0) {
            char b;
            close(go[1]);
            _exit(read(go[0], &b, 1) != 1 || clear_quietly(fd));
        }
        close(go[0]);
        printf("step: fork() while fd %d is blocking; the child keeps its copy\n", fd);
        change(fd, 1, 'f');
        expect_eagain(fd, call);
        if (write(go[1], "g", 1) != 1)
            die("write go");
        close(go[1]);
        wait_ok(k, "the child that clears O_NONBLOCK");
        printf("step: the child cleared O_NONBLOCK on its copy and exited\n");
    } else if (!strcmp(mode, "recvmmsg-reuse")) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
            die("socketpair");
        /* A non-blocking TCP socket takes a number, and is closed (close
         * is not hooked: its entry stays). */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int l = tcp_listener(AF_INET, &ss, &sl, 0);
        int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (nb < 0 || (connect(nb, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS))
            die("non-blocking connect");
        printf("step: socket(SOCK_NONBLOCK) = fd %d, connected, closed\n", nb);
        close(nb);
        /* fd comes back at the lowest free number, nb's. */
        int got = pass_fd(sp, fd, 1);
        close(sp[0]);
        close(sp[1]);
        close(l);
        if (got != nb) {
            printf("ERROR: received as fd %d, not on the closed socket's number %d\n", got, nb);
            return RC_ERR;
        }
        *fdp = got;
    } else if (!strcmp(mode, "system")) {
        change(fd, 1, 'f');
        expect_eagain(fd, call);
        char exe[512], cmd[600];
        self_exe(exe, sizeof exe);
        snprintf(cmd, sizeof cmd, "%s clear %d", exe, fd);
        fflush(stdout);
        if (system(cmd) != 0)
            die("system(%s)", cmd);
        printf("step: system(\"... clear %d\"): the program it ran cleared O_NONBLOCK\n", fd);
    } else if (!strcmp(mode, "setfl-race")) {
        race_fd = fd;
        race_fl = fcntl(fd, F_GETFL);
        if (race_fl < 0)
            die("F_GETFL");
        if (install_race_filter())
            return RC_SKIP;
        if (fcntl(fd, F_SETFL, race_fl | O_NONBLOCK) != 0)
            die("F_SETFL O_NONBLOCK");
        if (!race_done) {
            printf("ERROR: the seccomp trap did not fire\n");
            return RC_ERR;
        }
        printf("step: fcntl(fd %d, F_SETFL, O_NONBLOCK) = 0, and a fcntl(F_SETFL, blocking) ran between the "
               "kernel's change and the call's return\n", fd);
    } else {
        return -1;
    }
    return RC_OK;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    helper_main(argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: intr_nonblock MODE\n");
        return RC_ERR;
    }
    const char *mode = argv[1];
    printf("pid=%d mode=%s\n", (int)getpid(), mode);
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(mode, "left-nonblock"))
        return left_nonblock();
    /* Like the MySQL client: handlers without SA_RESTART, from the start. */
    install_handler(SIGWINCH, 'a');
    install_handler(SIGHUP, 'a');

    const char *call = !strcmp(mode, "recv") ? "recv" : !strcmp(mode, "write") ? "write" : "read";
    enum how how = !strcmp(mode, "sock-fcntl")           ? SOCK_NB
                   : !strcmp(mode, "accept4")            ? ACCEPT4_NB
                   : !strcmp(mode, "accept-nb-listener") ? ACCEPT_NB_LISTENER
                                                         : PLAIN;
    int fd, peer;
    connection(how, &fd, &peer, !strcmp(call, "write") ? SMALL_BUF : 0);
    helpers_start(fd, peer, !strcmp(call, "write"));
    /* The EAGAIN check reads (or recvs) even before a write. */
    int rc = history(mode, &fd, !strcmp(call, "recv") ? "recv" : "read");
    if (rc < 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return RC_ERR;
    }
    if (rc != RC_OK)
        return rc;
    if (is_nonblocking(fd)) {
        printf("ERROR: fd %d is still non-blocking after the history\n", fd);
        return RC_ERR;
    }
    printf("step: F_GETFL(fd %d): blocking; now blocking %ss under the storm\n", fd, call);
    return blocking_calls(fd, call);
}
