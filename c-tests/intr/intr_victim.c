/* The victim of the SIGWINCH story: a client blocked in a socket read while signals rain.
 *
 * It installs handlers for the storm signals WITHOUT SA_RESTART (like the
 * MySQL client library), connects (see make_pair kinds in intr_common.h),
 * starts a storm child and reads the whole answer with one of read, recv,
 * recvfrom, readv or recvmsg.  Any EINTR is fatal, as in libmysqlclient's
 * vio_read(): "2013 Lost connection to MySQL server during query".
 *
 * usage: intr_victim [-k kind] [-m mode] [-d delay_ms] [-c chunks] [-g gap_ms]
 *        [-l chunk_len] [-s sigs|none] [-i interval_ms] [-n max_ticks]
 *        [-e SIG@ms]... [-H style] [-A alarm_s] [-T rcvtimeo_ms] [-t threads]
 *        [-L]
 * -L: connect first and install the handlers after (a program that adds a
 * handler late, with its connections already open).
 * Prints "pid=", "result=<ok|eintr|eagain|eof|error> elapsed_ms=N bytes=N" and
 * "handled: SIG=count ..."; exit codes as in intr_common.h.
 */
#include "intr_common.h"
#include <pthread.h>

static const char *mode = "read";
static size_t bufsz = 65536;

static ssize_t do_read(int fd, unsigned char *buf, size_t len)
{
    return read_as(mode, fd, buf, len > bufsz ? bufsz : len);
}

struct job {
    int fd;
    size_t want;
    int rc;
    int err;
    size_t got;
    long elapsed;
    long bad_at;
};

static void *reader(void *arg)
{
    struct job *j = arg;
    unsigned char *buf = malloc(j->want + 1);
    long t0 = now_ms();
    j->rc = RC_OK;
    j->bad_at = -1;
    while (j->got < j->want) {
        ssize_t n = do_read(j->fd, buf + j->got, j->want - j->got);
        if (n < 0) {
            j->err = errno;
            j->rc = errno == EINTR ? RC_EINTR : (errno == EAGAIN || errno == EWOULDBLOCK) ? RC_EAGAIN : RC_ERR;
            break;
        }
        if (n == 0) {
            j->rc = RC_EOF;
            break;
        }
        j->got += (size_t)n;
    }
    j->elapsed = now_ms() - t0;
    if (j->rc == RC_OK && (j->bad_at = pat_check(buf, 0, j->want)) >= 0)
        j->rc = RC_ERR;
    free(buf);
    return NULL;
}

static const char *rc_name(int rc)
{
    switch (rc) {
    case RC_OK: return "ok";
    case RC_EINTR: return "eintr";
    case RC_EAGAIN: return "eagain";
    case RC_EOF: return "eof";
    default: return "error";
    }
}

static void install_all(const int *sigs, int nsigs, const int *esig, int nextra, int alarm_s, char style)
{
    for (int i = 0; i < nsigs; i++)
        install_handler(sigs[i], style);
    for (int i = 0; i < nextra; i++)
        install_handler(esig[i], style);
    if (alarm_s)
        install_handler(SIGALRM, style);
}

int main(int argc, char **argv)
{
    const char *kind = "tcp4", *storm = "WINCH,HUP";
    long delay = 1000, gap = 200, interval = 50, rcvtimeo = 0;
    int chunks = 2, max_ticks = 400, alarm_s = 0, nthreads = 0;
    size_t chunk_len = 1000;
    char style = 'a';
    const char *extra[8];
    int nextra = 0, late = 0, opt;

    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "k:m:d:c:g:l:s:i:n:e:H:A:T:t:b:L")) != -1) {
        switch (opt) {
        case 'k': kind = optarg; break;
        case 'm': mode = optarg; break;
        case 'd': delay = atol(optarg); break;
        case 'c': chunks = atoi(optarg); break;
        case 'g': gap = atol(optarg); break;
        case 'l': chunk_len = (size_t)atol(optarg); break;
        case 's': storm = optarg; break;
        case 'i': interval = atol(optarg); break;
        case 'n': max_ticks = atoi(optarg); break;
        case 'e': if (nextra < 8) extra[nextra++] = optarg; break;
        case 'H': style = optarg[0]; break;
        case 'A': alarm_s = atoi(optarg); break;
        case 'T': rcvtimeo = atol(optarg); break;
        case 't': nthreads = atoi(optarg); break;
        case 'b': bufsz = (size_t)atol(optarg); break;
        case 'L': late = 1; break;
        default: fprintf(stderr, "bad usage\n"); return RC_ERR;
        }
    }
    printf("pid=%d kind=%s mode=%s\n", (int)getpid(), kind, mode);

    int sigs[16], nsigs = strcmp(storm, "none") ? sig_list(storm, sigs, 16) : 0;
    int esig[8];
    long ems[8];
    for (int i = 0; i < nextra; i++) {
        char b[64];
        snprintf(b, sizeof b, "%s", extra[i]);
        char *at = strchr(b, '@');
        if (!at)
            die("bad -e %s", extra[i]);
        *at = 0;
        esig[i] = sig_parse(b);
        ems[i] = atol(at + 1);
    }

    /* Handlers first, as a real program does at start-up (or, with -L,
     * once the connections are open). */
    if (!late)
        install_all(sigs, nsigs, esig, nextra, alarm_s, style);
    int n = nthreads > 0 ? nthreads : 1;
    struct job jobs[32];
    pid_t writers[32];
    if (n > 32)
        n = 32;
    for (int i = 0; i < n; i++) {
        int rfd, wfd;
        int r = make_pair(kind, &rfd, &wfd, NULL);
        if (r)
            return r;
        if (rcvtimeo) {
            struct timeval tv = { rcvtimeo / 1000, (rcvtimeo % 1000) * 1000 };
            if (setsockopt(rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv))
                die("SO_RCVTIMEO");
        }
        writers[i] = writer_start(wfd, rfd, delay, chunks, gap, chunk_len);
        close(wfd);
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].fd = rfd;
        jobs[i].want = (size_t)chunks * chunk_len;
    }

    if (late)
        install_all(sigs, nsigs, esig, nextra, alarm_s, style);

    pid_t stormer = nsigs ? storm_start(getpid(), sigs, nsigs, interval, interval, max_ticks) : 0;
    pid_t extras[8];
    for (int i = 0; i < nextra; i++)
        extras[i] = storm_start(getpid(), &esig[i], 1, ems[i], 1000, 1);
    if (alarm_s)
        alarm((unsigned)alarm_s);

    if (nthreads > 0) {
        pthread_t th[32];
        sigset_t all;
        sigfillset(&all);
        for (int i = 0; i < n; i++)
            if (pthread_create(&th[i], NULL, reader, &jobs[i]))
                die("pthread_create");
        /* The readers, not main, must take the process-directed signals. */
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
    } else {
        reader(&jobs[0]);
    }
    alarm(0);
    stop_child(stormer);
    for (int i = 0; i < nextra; i++)
        stop_child(extras[i]);

    int rc = RC_OK;
    long elapsed = 0;
    size_t got = 0;
    for (int i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        if (nthreads > 0)
            printf("thread %d: result=%s elapsed_ms=%ld bytes=%zu%s%s\n", i, rc_name(j->rc), j->elapsed, j->got,
                   j->err ? " errno=" : "", j->err ? strerror(j->err) : "");
        if (j->bad_at >= 0)
            printf("DATA CORRUPTED at byte %ld\n", j->bad_at);
        if (j->rc != RC_OK && (rc == RC_OK || j->rc == RC_EINTR))
            rc = j->rc;
        if (j->elapsed > elapsed)
            elapsed = j->elapsed;
        got += j->got;
        close(j->fd);
        stop_child(writers[i]);
    }
    printf("result=%s elapsed_ms=%ld bytes=%zu last_signal=%s\n", rc_name(rc), elapsed, got, sig_str(g_last_sig));
    print_hits();
    return rc;
}
