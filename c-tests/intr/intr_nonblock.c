/* A TCP socket that was non-blocking and is blocking again: its blocking
 * reads must be resumed after an outside SIGWINCH/SIGHUP like any other's.
 *
 * A call on a non-blocking socket cannot be interrupted, but sockfix does
 * not take a socket's blocking mode from the calls it sees and skip the
 * resume on it: a library that did would lose the resume wherever the mode
 * changed unseen (t_intr_nonblock_gaps has seven such ways). These are the
 * histories such a library could follow; each must still end resumed. Each mode
 * walks one connection on 127.0.0.1 through a history of blocking-mode
 * changes, checking every step (a read in the non-blocking state must give
 * EAGAIN; at the end F_GETFL must show a blocking socket), then makes
 * blocking calls while another process sends SIGWINCH+SIGHUP every 30 ms;
 * the handlers for both were installed first, without SA_RESTART. The peer sends
 * its 3 chunks of 1000 bytes at 600 ms and then 200 ms apart, so the reads
 * really block. An EINTR is counted and the call made again.
 *
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
 *   left-nonblock  no signals: a socket left non-blocking (by SOCK_NONBLOCK,
 *                  fcntl, fcntl64, ioctl(FIONBIO), accept4(SOCK_NONBLOCK))
 *                  gives read and recv -1/EAGAIN when nothing is there and
 *                  the data when it is, write -1/EAGAIN when the send buffer
 *                  is full, and stays non-blocking: sockfix changes nothing
 *
 * usage: intr_nonblock MODE
 * Prints "step: ..." for each change, then "result=<ok|eintr|eagain|eof|error>
 * eintr=N elapsed_ms=N bytes=N" and "handled: ..."; exit codes as in
 * intr_common.h: 0 all data right and no EINTR, 3 EINTR reached the program
 * (the data is still read to the end), 4 EAGAIN (the socket was not blocking),
 * 1 anything else.
 */
#include "intr_common.h"
#include <sys/ioctl.h>

#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 28)
#define HAVE_FCNTL64 1
/* Declared by <fcntl.h> only with _LARGEFILE64_SOURCE (which _GNU_SOURCE
 * gives); said again here for any header that does not. */
extern int fcntl64(int fd, int cmd, ...);
#else
#define HAVE_FCNTL64 0
#endif

#define DELAY_MS 600L
#define GAP_MS 200L
#define CHUNK 1000
#define CHUNKS 3
#define WRITE_TOTAL (2u << 20)
#define SMALL_BUF 16384

static const char *mode;

/* ---------- the changes of blocking mode ---------- */

/* O_NONBLOCK on or off with fcntl(F_SETFL) (fcntl64 when use64). */
static void set_fl(int fd, int on, int use64)
{
#if HAVE_FCNTL64
    int fl = use64 ? fcntl64(fd, F_GETFL) : fcntl(fd, F_GETFL);
#else
    int fl = fcntl(fd, F_GETFL);
    if (use64) {
        printf("no fcntl64 in this C library (glibc before 2.28)\n");
        exit(RC_SKIP);
    }
#endif
    if (fl < 0)
        die("F_GETFL on fd %d", fd);
    fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
#if HAVE_FCNTL64
    int r = use64 ? fcntl64(fd, F_SETFL, fl) : fcntl(fd, F_SETFL, fl);
#else
    int r = fcntl(fd, F_SETFL, fl);
#endif
    if (r != 0)
        die("F_SETFL on fd %d", fd);
    printf("step: %s(fd %d, F_SETFL) %s O_NONBLOCK\n", use64 ? "fcntl64" : "fcntl", fd, on ? "sets" : "clears");
}

static void set_fionbio(int fd, int on)
{
    int v = on;
    if (ioctl(fd, FIONBIO, &v) != 0)
        die("ioctl(%d, FIONBIO, %d)", fd, on);
    printf("step: ioctl(fd %d, FIONBIO, %d)\n", fd, on);
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
    struct pollfd p = { c, POLLOUT, 0 };
    if (poll(&p, 1, 5000) != 1)
        die("poll for the connect");
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
        errno = err;
        die("non-blocking connect (SO_ERROR)");
    }
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

/* fd received back over a UNIX socketpair with SCM_RIGHTS. */
static int pass_to_self(int fd)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
        die("socketpair");
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
    if (recvmsg(sp[1], &mh, 0) != 1)
        die("recvmsg SCM_RIGHTS");
    cm = CMSG_FIRSTHDR(&mh);
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        die("no fd received");
    int got;
    memcpy(&got, CMSG_DATA(cm), sizeof got);
    close(sp[0]);
    close(sp[1]);
    printf("step: fd %d sent with SCM_RIGHTS, received as fd %d\n", fd, got);
    return got;
}

static int dup_as(const char *how, int fd)
{
    int d;
    if (!strcmp(how, "dup2"))
        d = dup2(fd, 200);
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
        if (!strcmp(way, "fcntl"))
            set_fl(fd, 1, 0);
        else if (!strcmp(way, "fcntl64"))
            set_fl(fd, 1, 1);
        else
            set_fionbio(fd, 1);
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

/* ---------- the blocking calls under the storm ---------- */

static const char *rc_name(int rc)
{
    return rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : rc == RC_EAGAIN ? "eagain" : rc == RC_EOF ? "eof" : "error";
}

static int finish(int rc, int eintr, long elapsed, size_t bytes, size_t want)
{
    if (rc == RC_OK && eintr)
        rc = RC_EINTR;
    printf("result=%s eintr=%d elapsed_ms=%ld bytes=%zu want=%zu\n", rc_name(rc), eintr, elapsed, bytes, want);
    print_hits();
    return rc;
}

/* Blocking reads on fd (read, or recv) until the peer's 3000 bytes are in. */
static int blocking_reads(int fd, int peer, const char *call)
{
    pid_t w = writer_start(peer, fd, DELAY_MS, CHUNKS, GAP_MS, CHUNK);
    close(peer);
    int sigs[2] = { SIGWINCH, SIGHUP };
    pid_t st = storm_start(getpid(), sigs, 2, 30, 30, 300);
    size_t want = (size_t)CHUNKS * CHUNK, got = 0;
    unsigned char buf[CHUNKS * CHUNK];
    int eintr = 0, rc = RC_OK;
    long t0 = now_ms();
    while (got < want && now_ms() - t0 < 8000) {
        ssize_t n = read_as(call, fd, buf + got, want - got);
        if (n < 0 && errno == EINTR) {
            eintr++;
            continue;
        }
        if (n < 0) {
            printf("%s(fd %d): %s after %zu bytes\n", call, fd, strerror(errno), got);
            rc = errno == EAGAIN || errno == EWOULDBLOCK ? RC_EAGAIN : RC_ERR;
            break;
        }
        if (n == 0) {
            printf("%s(fd %d): EOF after %zu bytes\n", call, fd, got);
            rc = RC_EOF;
            break;
        }
        got += (size_t)n;
    }
    long elapsed = now_ms() - t0;
    stop_child(st);
    stop_child(w);
    if (rc == RC_OK && got < want) {
        printf("only %zu of %zu bytes in 8 s\n", got, want);
        rc = RC_ERR;
    }
    if (rc == RC_OK && pat_check(buf, 0, want) >= 0) {
        printf("DATA CORRUPTED at byte %ld\n", pat_check(buf, 0, want));
        rc = RC_ERR;
    }
    return finish(rc, eintr, elapsed, got, want);
}

/* A blocking write of 2 MB on fd into a peer that reads from 600 ms on. */
static int blocking_write(int fd, int peer)
{
    fflush(stdout);
    pid_t reader = fork();
    if (reader < 0)
        die("fork");
    if (reader == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGALRM, SIG_DFL);
        alarm(60);
        close(fd);
        sleep_ms(DELAY_MS);
        _exit(pat_read_all(peer, 1, WRITE_TOTAL));
    }
    close(peer);
    unsigned char *buf = malloc(WRITE_TOTAL);
    if (!buf)
        die("malloc");
    pat_fill(buf, 0, WRITE_TOTAL);
    int sigs[2] = { SIGWINCH, SIGHUP };
    pid_t st = storm_start(getpid(), sigs, 2, 30, 30, 400);
    size_t off = 0;
    int eintr = 0, rc = RC_OK;
    long t0 = now_ms();
    while (off < WRITE_TOTAL && now_ms() - t0 < 8000) {
        ssize_t n = write(fd, buf + off, WRITE_TOTAL - off);
        if (n < 0 && errno == EINTR) {
            eintr++;
            continue;
        }
        if (n < 0) {
            printf("write(fd %d): %s after %zu bytes\n", fd, strerror(errno), off);
            rc = errno == EAGAIN || errno == EWOULDBLOCK ? RC_EAGAIN : RC_ERR;
            break;
        }
        off += (size_t)n;
    }
    long elapsed = now_ms() - t0;
    stop_child(st);
    if (rc == RC_OK && off < WRITE_TOTAL) {
        printf("only %zu of %u bytes written in 8 s\n", off, WRITE_TOTAL);
        rc = RC_ERR;
    }
    if (rc == RC_OK) {
        int pst = 0;
        shutdown(fd, SHUT_WR);
        while (waitpid(reader, &pst, 0) == -1 && errno == EINTR)
            ;
        if (!WIFEXITED(pst) || WEXITSTATUS(pst) != 0) {
            printf("peer reports failure (status 0x%x)\n", pst);
            rc = RC_ERR;
        }
    } else {
        stop_child(reader);
    }
    free(buf);
    return finish(rc, eintr, elapsed, off, WRITE_TOTAL);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: intr_nonblock MODE\n");
        return RC_ERR;
    }
    mode = argv[1];
    printf("pid=%d mode=%s\n", (int)getpid(), mode);
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(mode, "left-nonblock"))
        return left_nonblock();
    /* Like the MySQL client: handlers without SA_RESTART, from the start. */
    install_handler(SIGWINCH, 'a');
    install_handler(SIGHUP, 'a');

    int fd, peer, fd2 = -1;
    const char *call = "read";
    if (!strcmp(mode, "sock-fcntl")) {
        connection(SOCK_NB, &fd, &peer, 0);
        expect_eagain(fd, call);
        set_fl(fd, 0, 0);
    } else if (!strcmp(mode, "fcntl-on-off") || !strcmp(mode, "fcntl64") || !strcmp(mode, "write")) {
        int use64 = !strcmp(mode, "fcntl64");
        connection(PLAIN, &fd, &peer, !strcmp(mode, "write") ? SMALL_BUF : 0);
        set_fl(fd, 1, use64);
        expect_eagain(fd, call);
        set_fl(fd, 0, use64);
    } else if (!strcmp(mode, "fcntl-fcntl64") || !strcmp(mode, "fcntl-ioctl")) {
        connection(PLAIN, &fd, &peer, 0);
        set_fl(fd, 1, 0);
        expect_eagain(fd, call);
        if (!strcmp(mode, "fcntl-ioctl"))
            set_fionbio(fd, 0);
        else
            set_fl(fd, 0, 1);
    } else if (!strcmp(mode, "ioctl") || !strcmp(mode, "recv")) {
        call = !strcmp(mode, "recv") ? "recv" : "read";
        connection(PLAIN, &fd, &peer, 0);
        set_fionbio(fd, 1);
        expect_eagain(fd, call);
        set_fionbio(fd, 0);
    } else if (!strcmp(mode, "accept4")) {
        connection(ACCEPT4_NB, &fd, &peer, 0);
        expect_eagain(fd, call);
        set_fl(fd, 0, 0);
    } else if (!strcmp(mode, "accept-nb-listener")) {
        connection(ACCEPT_NB_LISTENER, &fd, &peer, 0);
    } else if (!strcmp(mode, "dup-after") || !strcmp(mode, "dup2") || !strcmp(mode, "dup3") ||
               !strcmp(mode, "fdupfd")) {
        connection(PLAIN, &fd, &peer, 0);
        set_fl(fd, 1, 0);
        expect_eagain(fd, call);
        fd2 = dup_as(mode, fd);
        set_fl(fd2, 0, 0);
    } else if (!strcmp(mode, "dup-before")) {
        connection(PLAIN, &fd, &peer, 0);
        fd2 = dup_as("dup", fd);
        set_fl(fd, 1, 0);
        expect_eagain(fd, call);
        set_fl(fd2, 0, 0);
    } else if (!strcmp(mode, "dup-copy") || !strcmp(mode, "scm-received")) {
        connection(PLAIN, &fd, &peer, 0);
        fd2 = !strcmp(mode, "dup-copy") ? dup_as("dup", fd) : pass_to_self(fd);
        set_fl(fd2, 1, 0);
        expect_eagain(fd2, call);
        set_fl(fd, 0, 0);
        /* The reads are on the copy. */
        int t = fd;
        fd = fd2;
        fd2 = t;
    } else if (!strcmp(mode, "scm-sender")) {
        connection(PLAIN, &fd, &peer, 0);
        set_fl(fd, 1, 0);
        expect_eagain(fd, call);
        fd2 = pass_to_self(fd);
        set_fl(fd2, 0, 0);
    } else if (!strcmp(mode, "fork-child")) {
        connection(PLAIN, &fd, &peer, 0);
        set_fl(fd, 1, 0);
        expect_eagain(fd, call);
        fflush(stdout);
        pid_t k = fork();
        if (k < 0)
            die("fork");
        if (k == 0) {
            set_fl(fd, 0, 0);
            _exit(0);
        }
        int kst;
        while (waitpid(k, &kst, 0) == -1 && errno == EINTR)
            ;
        if (!WIFEXITED(kst) || WEXITSTATUS(kst) != 0)
            die("the child that clears O_NONBLOCK failed");
        printf("step: a fork child cleared O_NONBLOCK on its copy of fd %d and exited\n", fd);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return RC_ERR;
    }
    if (is_nonblocking(fd)) {
        printf("ERROR: fd %d is still non-blocking after the history\n", fd);
        return RC_ERR;
    }
    printf("step: F_GETFL(fd %d): blocking; now blocking %ss under the storm\n", fd,
           !strcmp(mode, "write") ? "write" : call);
    int rc = !strcmp(mode, "write") ? blocking_write(fd, peer) : blocking_reads(fd, peer, call);
    if (fd2 >= 0)
        close(fd2);
    close(fd);
    return rc;
}
