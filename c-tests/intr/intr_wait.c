/* Waits under a signal storm: poll, ppoll, select or pselect on a connected
 * TCP socket (and/or a pipe) that does not become readable.  Handlers are
 * installed without SA_RESTART; EINTR is fatal.
 *
 * usage: intr_wait [-m poll|ppoll|select|pselect] [-f sock|pipe|both]
 *        [-t timeout_ms, -1 = none] [-d peer_delay_ms, -1 = never]
 *        [-s sigs|none] [-i interval_ms] [-e SIG@ms]
 * Prints "result=<ok|timeout|eintr|error> elapsed_ms=N"; exit 0 ready,
 * 5 timed out, 3 EINTR, 1 error.
 */
#include "intr_common.h"
#include <sys/select.h>

int main(int argc, char **argv)
{
    const char *mode = "poll", *fds = "sock", *storm = "WINCH", *extra = NULL;
    long timeout = 500, delay = -1, interval = 20;
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "m:f:t:d:s:i:e:")) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'f': fds = optarg; break;
        case 't': timeout = atol(optarg); break;
        case 'd': delay = atol(optarg); break;
        case 's': storm = optarg; break;
        case 'i': interval = atol(optarg); break;
        case 'e': extra = optarg; break;
        default: return RC_ERR;
        }
    }
    printf("pid=%d mode=%s fds=%s timeout=%ld\n", (int)getpid(), mode, fds, timeout);

    int sigs[8], nsigs = strcmp(storm, "none") ? sig_list(storm, sigs, 8) : 0;
    for (int i = 0; i < nsigs; i++)
        install_handler(sigs[i], 'a');
    int esig = 0;
    long ems = 0;
    if (extra) {
        char b[64];
        snprintf(b, sizeof b, "%s", extra);
        char *at = strchr(b, '@');
        if (!at)
            die("bad -e");
        *at = 0;
        esig = sig_parse(b);
        ems = atol(at + 1);
        install_handler(esig, 'a');
    }

    int sock = -1, peer = -1, p[2] = { -1, -1 };
    pid_t w = 0;
    if (strcmp(fds, "pipe")) {
        if (make_pair("tcp4", &sock, &peer, NULL))
            return RC_ERR;
        w = writer_start(peer, sock, delay, 1, 0, 10);
        close(peer);
    }
    if (strcmp(fds, "sock") && pipe(p))
        die("pipe");

    struct pollfd pf[2];
    int n = 0;
    if (p[0] >= 0)
        pf[n++] = (struct pollfd){ p[0], POLLIN, 0 };
    if (sock >= 0)
        pf[n++] = (struct pollfd){ sock, POLLIN, 0 };
    int maxfd = sock > p[0] ? sock : p[0];

    pid_t st = nsigs ? storm_start(getpid(), sigs, nsigs, interval, interval, 1000) : 0;
    pid_t ex = esig ? storm_start(getpid(), &esig, 1, ems, 1000, 1) : 0;

    long t0 = now_ms();
    int r;
    /* A value no wait sets: a resumed wait that ends well must leave it, as
     * the kernel's own restart does. */
    errno = EDOM;
    if (!strcmp(mode, "poll")) {
        r = poll(pf, (nfds_t)n, (int)timeout);
    } else if (!strcmp(mode, "ppoll")) {
        struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };
        r = ppoll(pf, (nfds_t)n, timeout < 0 ? NULL : &ts, NULL);
    } else if (!strcmp(mode, "select") || !strcmp(mode, "pselect")) {
        fd_set rs;
        FD_ZERO(&rs);
        for (int i = 0; i < n; i++)
            FD_SET(pf[i].fd, &rs);
        if (!strcmp(mode, "select")) {
            struct timeval tv = { timeout / 1000, (timeout % 1000) * 1000 };
            r = select(maxfd + 1, &rs, NULL, NULL, timeout < 0 ? NULL : &tv);
        } else {
            struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };
            r = pselect(maxfd + 1, &rs, NULL, NULL, timeout < 0 ? NULL : &ts, NULL);
        }
    } else {
        die("bad mode %s", mode);
    }
    int err = errno;
    long el = now_ms() - t0;
    stop_child(st);
    stop_child(ex);
    int rc = r > 0 ? RC_OK : r == 0 ? RC_TIMEOUT : err == EINTR ? RC_EINTR : RC_ERR;
    if (r >= 0 && err != EDOM) {
        printf("errno changed from EDOM to %s by a %s that returned %d\n", strerrorname_np(err), mode, r);
        rc = RC_ERR;
    }
    printf("result=%s elapsed_ms=%ld ret=%d%s%s\n",
           rc == RC_OK ? "ok" : rc == RC_TIMEOUT ? "timeout" : rc == RC_EINTR ? "eintr" : "error", el, r,
           r < 0 ? " errno=" : "", r < 0 ? strerror(err) : "");
    print_hits();
    if (sock >= 0)
        close(sock);
    stop_child(w);
    return rc;
}
