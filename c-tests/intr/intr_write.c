/* Blocking writes under a signal storm: no byte lost or duplicated.
 *
 * The victim writes `total` bytes (default 8 MB) of a counter pattern on a TCP
 * connection with small SO_SNDBUF (and small SO_RCVBUF at the peer), so the
 * writes block; the peer does not read for 1 s, then reads and checks every
 * byte.  SIGWINCH+SIGHUP every 50 ms, handlers without SA_RESTART; EINTR is
 * fatal (short writes are handled, as any correct program does).
 *
 * usage: intr_write [-m write|send|sendto|writev|sendmsg] [-k tcp4|tcp6|tcp4acc]
 *        [-z total_bytes] [-d peer_delay_ms] [-s sigs|none] [-i interval_ms]
 *        [-n max_storm_ticks]
 *        [-p peer_pause_ms after each read of at most 64 KiB]
 *        [-T sndtimeo_ms: fill the send buffer first, set SO_SNDTIMEO, then one
 *         blocking write that can only time out (the peer never reads);
 *         exit 4 = EAGAIN]
 * Prints "result=... elapsed_ms=N written=N calls=N short=N" and the peer's
 * verdict; exit 0 all written and verified, 3 EINTR, 1 error/corruption.
 */
#include "intr_common.h"
#include <sys/uio.h>

int main(int argc, char **argv)
{
    const char *mode = "write", *kind = "tcp4", *storm = "WINCH,HUP";
    size_t total = 8u << 20;
    long delay = 1000, interval = 50, pace = 2, sndtimeo = 0;
    int max_ticks = 2000;
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "m:k:z:d:s:i:p:T:n:")) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'k': kind = optarg; break;
        case 'z': total = (size_t)atol(optarg); break;
        case 'd': delay = atol(optarg); break;
        case 's': storm = optarg; break;
        case 'i': interval = atol(optarg); break;
        case 'p': pace = atol(optarg); break;
        case 'T': sndtimeo = atol(optarg); break;
        case 'n': max_ticks = atoi(optarg); break;
        default: return RC_ERR;
        }
    }
    printf("pid=%d mode=%s kind=%s total=%zu\n", (int)getpid(), mode, kind, total);
    signal(SIGPIPE, SIG_IGN);
    int sigs[8], nsigs = strcmp(storm, "none") ? sig_list(storm, sigs, 8) : 0;
    for (int i = 0; i < nsigs; i++)
        install_handler(sigs[i], 'a');

    /* Small buffers so that the writes block. */
    int family = strstr(kind, "6") ? AF_INET6 : AF_INET, accepted = strstr(kind, "acc") != NULL;
    struct sockaddr_storage ss;
    socklen_t sl;
    int small = 16384;
    int l = tcp_listener(family, &ss, &sl, accepted ? 0 : small);
    if (l == -2) {
        printf("no IPv6 loopback here\n");
        return RC_SKIP;
    }
    int c = socket(family, SOCK_STREAM, 0);
    if (c < 0)
        die("socket");
    if (!accepted)
        setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    else
        setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (connect(c, (struct sockaddr *)&ss, sl))
        die("connect");
    int s = accept(l, NULL, NULL);
    if (s < 0)
        die("accept");
    close(l);
    if (accepted)
        setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    int fd = accepted ? s : c, peerfd = accepted ? c : s;

    fflush(stdout);
    pid_t peer = fork();
    if (peer < 0)
        die("fork");
    if (peer == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGALRM, SIG_DFL);
        alarm(60);
        close(fd);
        sleep_ms(delay);
        _exit(pat_read_all(peerfd, pace, total));
    }
    close(peerfd);

    if (sndtimeo) {
        /* Fill the socket buffers until a non-blocking write would block. */
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        char junk[4096];
        memset(junk, 'x', sizeof junk);
        long filled = 0;
        /* Until a round adds nothing: loopback moves data on to the peer's
         * receive buffer for a moment after EAGAIN. */
        for (int round = 0; round < 50; round++) {
            long added = 0;
            for (int i = 0; i < 100000; i++) {
                ssize_t n = write(fd, junk, sizeof junk);
                if (n < 0)
                    break;
                added += n;
            }
            filled += added;
            if (round > 0 && added == 0)
                break;
            sleep_ms(100);
        }
        fcntl(fd, F_SETFL, fl);
        struct timeval tv = { sndtimeo / 1000, (sndtimeo % 1000) * 1000 };
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv))
            die("SO_SNDTIMEO");
        printf("send buffer filled with %ld bytes\n", filled);
        pid_t st = nsigs ? storm_start(getpid(), sigs, nsigs, interval, interval, max_ticks) : 0;
        long t0 = now_ms();
        ssize_t n = write(fd, junk, sizeof junk);
        int e = errno;
        long el = now_ms() - t0;
        stop_child(st);
        stop_child(peer);
        int rc = n >= 0 ? RC_OK : e == EINTR ? RC_EINTR : (e == EAGAIN || e == EWOULDBLOCK) ? RC_EAGAIN : RC_ERR;
        printf("result=%s elapsed_ms=%ld ret=%zd%s%s\n",
               rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : rc == RC_EAGAIN ? "eagain" : "error", el, n,
               n < 0 ? " errno=" : "", n < 0 ? strerror(e) : "");
        print_hits();
        return rc;
    }

    unsigned char *buf = malloc(total);
    if (!buf)
        die("malloc");
    pat_fill(buf, 0, total);
    pid_t st = nsigs ? storm_start(getpid(), sigs, nsigs, interval, interval, max_ticks) : 0;

    size_t off = 0;
    long calls = 0, shorts = 0;
    int rc = RC_OK, err = 0;
    long t0 = now_ms();
    while (off < total) {
        size_t len = total - off;
        ssize_t n;
        calls++;
        if (!strcmp(mode, "write")) {
            n = write(fd, buf + off, len);
        } else if (!strcmp(mode, "send")) {
            n = send(fd, buf + off, len, 0);
        } else if (!strcmp(mode, "sendto")) {
            n = sendto(fd, buf + off, len, 0, NULL, 0);
        } else if (!strcmp(mode, "writev") || !strcmp(mode, "sendmsg")) {
            size_t a = len / 3, b = len / 3;
            struct iovec iov[3] = { { buf + off, a }, { buf + off + a, b }, { buf + off + a + b, len - a - b } };
            if (!strcmp(mode, "writev")) {
                n = writev(fd, iov, 3);
            } else {
                struct msghdr mh;
                memset(&mh, 0, sizeof mh);
                mh.msg_iov = iov;
                mh.msg_iovlen = 3;
                n = sendmsg(fd, &mh, 0);
            }
        } else {
            die("bad mode %s", mode);
        }
        if (n < 0) {
            err = errno;
            rc = err == EINTR ? RC_EINTR : RC_ERR;
            break;
        }
        if ((size_t)n > len) {
            printf("write returned %zd for %zu bytes\n", n, len);
            rc = RC_ERR;
            break;
        }
        if ((size_t)n < len)
            shorts++;
        off += (size_t)n;
    }
    long el = now_ms() - t0;
    stop_child(st);
    rc = end_helper(fd, peer, rc, "peer");
    printf("result=%s elapsed_ms=%ld written=%zu calls=%ld short=%ld%s%s\n",
           rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : "error", el, off, calls, shorts,
           err ? " errno=" : "", err ? strerror(err) : "");
    print_hits();
    close(fd);
    return rc;
}
