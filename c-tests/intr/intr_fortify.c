// cflags: -O2 -g -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
/* The SIGWINCH story in a fortified binary: with -D_FORTIFY_SOURCE=2, a read into a
 * stack buffer of known size with a length the compiler cannot prove safe is
 * compiled to __read_chk / __recv_chk / __recvfrom_chk (and poll on a fixed
 * array to __poll_chk / __ppoll_chk), not to read/recv/recvfrom/poll.  An
 * interposer that only hooks the plain names misses them.
 *
 * usage: intr_fortify read|recv|recvfrom|poll|ppoll [storm: 1|0]
 * Same protocol and exit codes as intr_victim (intr_common.h); poll/ppoll use
 * a 500 ms timeout on a socket that never becomes readable: 5 = timed out.
 */
#include "intr_common.h"

/* Not constant to the compiler, so the _chk variants are used. */
static volatile size_t g_len = 100;
static volatile int g_nfds = 1;

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "read";
    int storm = argc > 2 ? atoi(argv[2]) : 1;
    int is_poll = !strcmp(mode, "poll") || !strcmp(mode, "ppoll");
    setvbuf(stdout, NULL, _IOLBF, 0);
#ifdef _FORTIFY_SOURCE
    printf("pid=%d mode=%s fortify=%d\n", (int)getpid(), mode, _FORTIFY_SOURCE);
#else
    printf("pid=%d mode=%s fortify=none\n", (int)getpid(), mode);
#endif

    install_handler(SIGWINCH, 'a');
    install_handler(SIGHUP, 'a');
    int rfd, wfd;
    if (make_pair("tcp4", &rfd, &wfd, NULL))
        return RC_ERR;
    /* 2 chunks of 100 bytes: at 1000 ms and 1200 ms; never for poll. */
    pid_t w = writer_start(wfd, rfd, is_poll ? -1 : 1000, 2, 200, 100);
    close(wfd);
    int sigs[2] = { SIGWINCH, SIGHUP };
    pid_t st = storm ? storm_start(getpid(), sigs, 2, 50, is_poll ? 20 : 50, 400) : 0;

    unsigned char buf[256];
    size_t got = 0, want = 200;
    int rc = RC_OK, err = 0;
    long t0 = now_ms();
    if (is_poll) {
        struct pollfd p[1] = { { rfd, POLLIN, 0 } };
        int r;
        if (!strcmp(mode, "poll")) {
            r = poll(p, (nfds_t)g_nfds, 500);
        } else {
            struct timespec ts = { 0, 500 * 1000000L };
            r = ppoll(p, (nfds_t)g_nfds, &ts, NULL);
        }
        err = errno;
        rc = r == 0 ? RC_TIMEOUT : r > 0 ? RC_OK : err == EINTR ? RC_EINTR : RC_ERR;
    } else {
        while (got < want) {
            /* A fixed-size stack buffer: its size is known at compile
             * time, the length is not. */
            unsigned char part[128];
            size_t len = g_len;
            if (len > want - got)
                len = want - got;
            ssize_t n;
            if (!strcmp(mode, "read")) {
                n = read(rfd, part, len);
            } else if (!strcmp(mode, "recv")) {
                n = recv(rfd, part, len, 0);
            } else {
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                n = recvfrom(rfd, part, len, 0, (struct sockaddr *)&from, &fl);
            }
            if (n > 0)
                memcpy(buf + got, part, (size_t)n);
            if (n < 0) {
                err = errno;
                rc = err == EINTR ? RC_EINTR : RC_ERR;
                break;
            }
            if (n == 0) {
                rc = RC_EOF;
                break;
            }
            got += (size_t)n;
        }
        if (rc == RC_OK && pat_check(buf, 0, want) >= 0) {
            printf("DATA CORRUPTED\n");
            rc = RC_ERR;
        }
    }
    long el = now_ms() - t0;
    stop_child(st);
    close(rfd);
    stop_child(w);
    printf("result=%s elapsed_ms=%ld bytes=%zu%s%s\n",
           rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : rc == RC_TIMEOUT ? "timeout" : rc == RC_EOF ? "eof" : "error",
           el, got, err ? " errno=" : "", err ? strerror(err) : "");
    print_hits();
    return rc;
}
