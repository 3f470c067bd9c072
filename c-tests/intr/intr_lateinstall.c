/* The first handler arrives while a call already blocks: the main thread
 * connects (no handler anywhere yet) and blocks in one call on the TCP
 * socket; at 200 ms another thread (which blocks every signal, so that the
 * signals land on the main thread) installs the SIGWINCH and SIGHUP
 * handlers, without SA_RESTART, as a program does that sets up its terminal
 * or its log handling in a thread of its own once its connection is open.
 * From 400 ms another process sends SIGWINCH+SIGHUP every 30 ms; the peer
 * answers at 1200 ms in three chunks 300 ms apart (connect: it accepts at
 * 800 ms; until then the accept queue is full and the SYN is dropped).
 *
 * Unlike intr_victim, EINTR is counted and the call made again, so that one
 * run tells both things apart:
 *   before=N  EINTRs of the call that was already blocked when the handlers
 *             were installed (the first one)
 *   after=N   EINTRs of the calls made after the install
 * Both are signals from outside the process: with sockfix both must be 0.
 *
 * usage: intr_lateinstall [-m read|recv|readv|recvmsg|poll|select|connect]
 * Prints "result=<ok|eintr|error> before=N after=N elapsed_ms=N"; exit 0 when
 * no EINTR reached the program, 3 when one did (intr_common.h).
 */
#include "intr_common.h"
#include <pthread.h>
#include <sys/select.h>

static volatile int installed;

static void *installer(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    sleep_ms(200);
    install_handler(SIGWINCH, 'a');
    install_handler(SIGHUP, 'a');
    __atomic_store_n(&installed, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* A read with the call `mode` names; poll and select wait first, then read. */
static ssize_t one_read(const char *mode, int fd, unsigned char *buf, size_t len)
{
    int k;
    if (!strcmp(mode, "poll")) {
        struct pollfd p = { fd, POLLIN, 0 };
        k = poll(&p, 1, 5000);
    } else if (!strcmp(mode, "select")) {
        fd_set s;
        FD_ZERO(&s);
        FD_SET(fd, &s);
        struct timeval tv = { 5, 0 };
        k = select(fd + 1, &s, NULL, NULL, &tv);
    } else {
        return read_as(mode, fd, buf, len);
    }
    if (k <= 0)
        return k < 0 ? -1 : (errno = ETIMEDOUT, -1);
    return read(fd, buf, len);
}

int main(int argc, char **argv)
{
    const char *mode = "read";
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "m:")) != -1) {
        if (opt != 'm') {
            fprintf(stderr, "bad usage\n");
            return RC_ERR;
        }
        mode = optarg;
    }
    printf("pid=%d mode=%s\n", (int)getpid(), mode);
    int connecting = !strcmp(mode, "connect");
    int fd, wfd = -1, listener = -1;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (connecting) {
        /* Backlog 0 holds one connection; a second, non-blocking one
         * waits for room: the SYN of `fd` is dropped until the accepts. */
        listener = tcp_listener(AF_INET, &ss, &sl, 0);
        if (listen(listener, 0))
            die("listen");
        int f1 = socket(AF_INET, SOCK_STREAM, 0), f2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (f1 < 0 || f2 < 0 || connect(f1, (struct sockaddr *)&ss, sl))
            die("filling the accept queue");
        connect(f2, (struct sockaddr *)&ss, sl);
        sleep_ms(50);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            die("socket");
    } else {
        int r = make_pair("tcp4", &fd, &wfd, NULL);
        if (r)
            return r;
    }
    size_t chunk = 1000, want = 3 * chunk;
    pid_t peer;
    if (connecting) {
        fflush(stdout);
        peer = fork();
        if (peer < 0)
            die("fork");
        if (peer == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            sleep_ms(800);
            for (int i = 0; i < 3; i++)
                accept(listener, NULL, NULL);
            sleep_ms(10000);
            _exit(0);
        }
    } else {
        peer = writer_start(wfd, fd, 1200, 3, 300, chunk);
        close(wfd);
    }
    int sigs[2] = { SIGWINCH, SIGHUP };
    pid_t stormer = storm_start(getpid(), sigs, 2, 400, 30, 200);
    pthread_t th;
    if (pthread_create(&th, NULL, installer, NULL))
        die("pthread_create");

    unsigned char *buf = malloc(want);
    size_t got = 0;
    int before = 0, after = 0, rc = RC_OK, done = 0;
    long t0 = now_ms();
    while (!done && now_ms() - t0 < 8000) {
        int pre = !__atomic_load_n(&installed, __ATOMIC_SEQ_CST);
        ssize_t n;
        if (connecting) {
            n = connect(fd, (struct sockaddr *)&ss, sl);
            if (n < 0 && errno == EALREADY) {
                sleep_ms(20);
                continue;
            }
            if (n == 0 || errno == EISCONN) {
                done = 1;
                continue;
            }
        } else {
            n = one_read(mode, fd, buf + got, want - got);
        }
        if (n < 0 && errno == EINTR) {
            if (pre)
                before++;
            else
                after++;
            continue;
        }
        if (n <= 0) {
            printf("error: n=%zd %s\n", n, n ? strerror(errno) : "EOF");
            rc = RC_ERR;
            break;
        }
        got += (size_t)n;
        done = got >= want;
    }
    long elapsed = now_ms() - t0;
    stop_child(stormer);
    stop_child(peer);
    pthread_join(th, NULL);
    if (rc == RC_OK && !done)
        rc = RC_ERR;
    if (rc == RC_OK && !connecting && pat_check(buf, 0, want) >= 0) {
        printf("DATA CORRUPTED\n");
        rc = RC_ERR;
    }
    if (rc == RC_OK && (before || after))
        rc = RC_EINTR;
    printf("result=%s before=%d after=%d elapsed_ms=%ld\n", rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : "error",
           before, after, elapsed);
    print_hits();
    return rc;
}
