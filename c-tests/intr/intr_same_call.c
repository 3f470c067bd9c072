// cflags: -O2 -g -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
/* One blocking socket call that SIGWINCH from another process interrupts
 * several times, for t_intr_same_call, which traces it with strace: every
 * call sockfix makes again after an EINTR must reach the kernel as the same
 * system call with the same arguments.  A resume that lost the flags, a
 * length or a pointer would still move data, just not what was asked for.
 *
 * usage: intr_same_call CALL
 *   reads:  read __read_chk readv recv __recv_chk recvfrom __recvfrom_chk recvmsg
 *   writes: write writev send sendto sendmsg
 *
 * The arguments are chosen so that a mix-up shows: the length is 7777 (the
 * buffer is 7841 bytes, what the _chk variants get as buflen), the recv
 * family asks for MSG_WAITALL and the send family for MSG_NOSIGNAL|MSG_MORE,
 * recvfrom, recvmsg and sendto pass an address and its length, readv,
 * recvmsg, writev and sendmsg two iovecs of unequal length.  The program is
 * fortified (cflags above): the _chk variants read into the buffer itself,
 * whose size the compiler knows, the plain ones through a pointer it cannot
 * follow.
 *
 * One helper child (another process: sockfix resumes only after a signal
 * from outside) sends SIGWINCH 6 times 40 ms apart while the call blocks,
 * waits 150 ms, and only then moves data: for a read it sends 4 chunks of
 * 2000 bytes 30 ms apart (MSG_WAITALL must wait for the 4th); for a write,
 * whose send buffer was filled first, it drains the connection and checks
 * every byte.  No signal comes once data moves: after part of the data a
 * signal makes the call return a short count, with or without sockfix.
 *
 * Checked here: the count (7777 with MSG_WAITALL and for writes), the counter
 * pattern of the data, that no byte past the count was written, and the
 * helper's verdict.  Prints "fd=N" (the socket to look for in the trace),
 * "result=... elapsed_ms=N ret=N" and the handler counts; exit 0 all
 * checked, 3 EINTR, 1 anything else (intr_common.h).
 */
#include "intr_common.h"

#define LEN 7777
#define SLACK 64 /* bytes after the 7777 that nothing may write */
#define FIRST 3000 /* the first iovec; the second has the rest */
#define UNTOUCHED 0xa5

static unsigned char g_buf[LEN + SLACK];
/* The plain calls get the buffer through this pointer, whose object the
 * compiler cannot see, so fortify leaves them alone; the length is not a
 * constant either, so the _chk variants are used for g_buf itself. */
static unsigned char *volatile g_plain = g_buf;
static volatile size_t g_len = LEN;

static const char *const reads[] = { "read", "__read_chk", "readv", "recv", "__recv_chk",
                                     "recvfrom", "__recvfrom_chk", "recvmsg" };
static const char *const writes[] = { "write", "writev", "send", "sendto", "sendmsg" };

static int is_one_of(const char *call, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(call, names[i]))
            return 1;
    return 0;
}

/* The helper child: the storm, then the data. */
static void helper(int fd, int is_write, pid_t victim, size_t filled)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sleep_ms(50);
    for (int t = 0; t < 6; t++) {
        if (t)
            sleep_ms(40);
        if (getppid() != victim || kill(victim, SIGWINCH) != 0)
            _exit(0);
    }
    if (!is_write)
        writer_run(fd, 150, 4, 30, 2000);
    sleep_ms(150);
    _exit(pat_read_all(fd, 0, filled + LEN));
}

/* Fills the send buffer of fd (non-blocking, with the counter pattern) until
 * three rounds of writes 50 ms apart add nothing: the peer's delayed ACKs
 * free room for a while after the first EAGAIN, and room freed once the
 * call has begun would let it send part of its bytes and then return short
 * at the next signal.  Returns the bytes written. */
static size_t fill(int fd)
{
    unsigned char chunk[4096];
    size_t filled = 0;
    int fl = fcntl(fd, F_GETFL), still = 0;
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
        die("fcntl O_NONBLOCK");
    for (int round = 0; round < 40 && still < 3; round++) {
        size_t added = 0;
        ssize_t n = 0;
        for (int i = 0; i < 1000 && n >= 0; i++) {
            pat_fill(chunk, filled + added, sizeof chunk);
            n = write(fd, chunk, sizeof chunk);
            if (n > 0)
                added += (size_t)n;
        }
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            die("filling the send buffer");
        filled += added;
        still = added ? 0 : still + 1;
        sleep_ms(50);
    }
    if (still < 3)
        die("the send buffer never stayed full");
    if (fcntl(fd, F_SETFL, fl))
        die("fcntl blocking");
    return filled;
}

static ssize_t do_read(const char *call, int fd, struct sockaddr_storage *ss, socklen_t *sl)
{
    unsigned char *p = g_plain;
    struct iovec iov[2] = { { p, FIRST }, { p + FIRST, g_len - FIRST } };
    if (!strcmp(call, "read"))
        return read(fd, p, g_len);
    if (!strcmp(call, "__read_chk"))
        return read(fd, g_buf, g_len);
    if (!strcmp(call, "readv"))
        return readv(fd, iov, 2);
    if (!strcmp(call, "recv"))
        return recv(fd, p, g_len, MSG_WAITALL);
    if (!strcmp(call, "__recv_chk"))
        return recv(fd, g_buf, g_len, MSG_WAITALL);
    if (!strcmp(call, "recvfrom"))
        return recvfrom(fd, p, g_len, MSG_WAITALL, (struct sockaddr *)ss, sl);
    if (!strcmp(call, "__recvfrom_chk"))
        return recvfrom(fd, g_buf, g_len, MSG_WAITALL, (struct sockaddr *)ss, sl);
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = ss;
    mh.msg_namelen = *sl;
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    return recvmsg(fd, &mh, MSG_WAITALL);
}

static ssize_t do_write(const char *call, int fd, const struct sockaddr_storage *peer, socklen_t peerlen)
{
    const int flags = MSG_NOSIGNAL | MSG_MORE;
    struct iovec iov[2] = { { g_buf, FIRST }, { g_buf + FIRST, LEN - FIRST } };
    if (!strcmp(call, "write"))
        return write(fd, g_buf, LEN);
    if (!strcmp(call, "writev"))
        return writev(fd, iov, 2);
    if (!strcmp(call, "send"))
        return send(fd, g_buf, LEN, flags);
    /* TCP ignores the address of a connected socket: the peer's own. */
    if (!strcmp(call, "sendto"))
        return sendto(fd, g_buf, LEN, flags, (const struct sockaddr *)peer, peerlen);
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    return sendmsg(fd, &mh, flags);
}

int main(int argc, char **argv)
{
    const char *call = argc > 1 ? argv[1] : "";
    int is_write = is_one_of(call, writes, sizeof writes / sizeof writes[0]);
    if (!is_write && !is_one_of(call, reads, sizeof reads / sizeof reads[0])) {
        fprintf(stderr, "usage: intr_same_call CALL (unknown call '%s')\n", call);
        return RC_ERR;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* The whole run is bounded here: under strace, a timeout outside would
     * end strace rather than this program. */
    alarm(20);
    install_handler(SIGWINCH, 'a');

    /* For a write, small buffers on both sides, so that the fill ends soon
     * and the call blocks before it has sent anything: the receiving end
     * (make_pair's first) gets its SO_RCVBUF before it connects, so that
     * the window is small from the start, and the victim writes on the
     * other end. */
    int small = 16384, rfd, wfd;
    struct pair_opts o = { small, small };
    if (make_pair("tcp4", &rfd, &wfd, is_write ? &o : NULL))
        return RC_ERR;
    int fd = is_write ? wfd : rfd, peer = is_write ? rfd : wfd;
    printf("pid=%d fd=%d call=%s\n", (int)getpid(), fd, call);

    size_t filled = 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (is_write) {
        filled = fill(fd);
        printf("send buffer filled with %zu bytes\n", filled);
        pat_fill(g_buf, filled, LEN);
        if (getpeername(fd, (struct sockaddr *)&ss, &sl))
            die("getpeername");
    } else {
        memset(g_buf, UNTOUCHED, sizeof g_buf);
    }

    fflush(stdout);
    pid_t victim = getpid(), h = fork();
    if (h < 0)
        die("fork");
    if (h == 0) {
        close(fd);
        helper(peer, is_write, victim, filled);
    }
    close(peer);

    long t0 = now_ms();
    /* A value no socket call sets: a call resumed to success must leave it,
     * as the kernel's own restart (SA_RESTART) does. */
    errno = EDOM;
    ssize_t n = is_write ? do_write(call, fd, &ss, sl) : do_read(call, fd, &ss, &sl);
    int err = errno;
    long el = now_ms() - t0;

    int rc = n >= 0 ? RC_OK : err == EINTR ? RC_EINTR : RC_ERR;
    if (n >= 0 && err != EDOM) {
        printf("errno changed from EDOM to %s by a %s that returned %zd\n", strerrorname_np(err), call, n);
        rc = RC_ERR;
    }
    int waitall = !is_write && strcmp(call, "read") && strcmp(call, "__read_chk") && strcmp(call, "readv");
    if (n >= 0 && (is_write || waitall ? n != LEN : n == 0 || n > LEN)) {
        printf("%s returned %zd, asked for %d%s\n", call, n, LEN, waitall ? " with MSG_WAITALL" : "");
        rc = RC_ERR;
    }
    if (rc == RC_OK && !is_write) {
        long bad = pat_check(g_buf, 0, (size_t)n);
        if (bad >= 0) {
            printf("DATA CORRUPTED at byte %ld\n", bad);
            rc = RC_ERR;
        }
        for (size_t k = (size_t)n; k < sizeof g_buf; k++)
            if (g_buf[k] != UNTOUCHED) {
                printf("byte %zu written, past the %zd returned\n", k, n);
                rc = RC_ERR;
                break;
            }
    }
    /* The helper ends at EOF: a reader once it sees it, a writer's drain
     * after checking the whole stream. */
    rc = end_helper(fd, h, rc, "helper");
    close(fd);
    printf("result=%s elapsed_ms=%ld ret=%zd%s%s\n",
           rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : "error", el, n,
           n < 0 ? " errno=" : "", n < 0 ? strerror(err) : "");
    if (!strcmp(call, "recvfrom") || !strcmp(call, "__recvfrom_chk"))
        printf("addrlen=%u after the call\n", (unsigned)sl);
    print_hits();
    return rc;
}
