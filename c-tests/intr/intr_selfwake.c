/* The field case of issue 9: a program stops a worker thread blocked in a
 * socket read on an idle TCP connection by setting a flag and
 * pthread_kill(worker, SIGUSR1), then joins it.  The handler (installed
 * without SA_RESTART) does nothing: the EINTR is the wake-up.  The worker
 * calls again on EINTR unless the flag is set, as such programs do.
 *
 * A signal the process sends its own thread must interrupt exactly as
 * without the library: the join returns at once.  A SIGUSR1 from ANOTHER
 * process (logrotate's kind) must still be resumed by the library: the
 * worker stays in its call and never sees EINTR.
 *
 * usage: intr_selfwake [-m read|select|recv|poll] [-o self|other]
 *   read    the worker blocks in read()
 *   select  select() for readable, then read()
 *   recv    recv()
 *   poll    poll() for readable, then read()
 *   self    after 200 ms: flag, pthread_kill(worker, SIGUSR1), join
 *   other   after 200 ms another process kill()s us with SIGUSR1 (every
 *           other thread blocks it, so it lands on the worker); 700 ms
 *           later, the same stop as `self`
 * The peer never sends.  Prints "other_signal: eintr_seen=N still_blocked=
 * yes|no" (other) and "result=<ok|late> join_ms=N eintr_seen=N"; exit 0
 * when the join returned within 1 s, 2 when it did not (the worker is then
 * freed with shutdown() so that the program ends), 1 on a setup error.
 */
#include "intr_common.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/select.h>

static const char *mode = "read";
static int fd;                /* our end of the idle connection */
static atomic_int stop_flag;  /* set by main before the wake-up */
static atomic_int eintr_seen; /* EINTRs the worker got */
static atomic_int in_call;    /* the worker is (about to be) blocked */
static atomic_int finished;

static void on_usr1(int s) { (void)s; }

/* One blocking wait or read; returns what the call returned. */
static ssize_t block_once(void)
{
    char buf[256];
    if (!strcmp(mode, "select")) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(fd, &rs);
        int r = select(fd + 1, &rs, NULL, NULL, NULL);
        if (r <= 0)
            return r;
    } else if (!strcmp(mode, "poll")) {
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, -1);
        if (r <= 0)
            return r;
    }
    if (!strcmp(mode, "recv"))
        return recv(fd, buf, sizeof buf, 0);
    return read(fd, buf, sizeof buf);
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000 && !atomic_load(&stop_flag); i++) {
        atomic_store(&in_call, 1);
        ssize_t n = block_once();
        atomic_store(&in_call, 0);
        if (n < 0 && errno == EINTR) {
            atomic_fetch_add(&eintr_seen, 1);
            continue; /* woken: look at the flag */
        }
        break; /* data, EOF (shutdown by main) or an error */
    }
    atomic_store(&finished, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *origin = "self";
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "m:o:")) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'o': origin = optarg; break;
        default: return RC_ERR;
        }
    }
    if (strcmp(mode, "read") && strcmp(mode, "select") && strcmp(mode, "recv") && strcmp(mode, "poll"))
        die("bad mode %s", mode);
    int other = !strcmp(origin, "other");
    printf("pid=%d mode=%s origin=%s\n", (int)getpid(), mode, origin);
    alarm(20);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL))
        die("sigaction");

    /* An idle connection: the peer end stays open here and never sends. */
    int peer;
    if (make_pair("tcp4", &fd, &peer, NULL))
        die("connection");

    pthread_t w;
    if (pthread_create(&w, NULL, worker, NULL))
        die("pthread_create");
    /* Only the worker may take a process-directed SIGUSR1. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    sleep_ms(200);

    if (other) {
        /* logrotate's kind: another process signals us. */
        pid_t killer = storm_start(getpid(), (int[]){ SIGUSR1 }, 1, 0, 1000, 1);
        sleep_ms(700);
        stop_child(killer);
        printf("other_signal: eintr_seen=%d still_blocked=%s\n", atomic_load(&eintr_seen),
               atomic_load(&in_call) && !atomic_load(&finished) ? "yes" : "no");
    }

    /* The field program's stop: flag, wake the worker, join. */
    long t0 = now_ms();
    atomic_store(&stop_flag, 1);
    pthread_kill(w, SIGUSR1);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 1;
    int jr = pthread_timedjoin_np(w, NULL, &dl);
    long join_ms = now_ms() - t0;
    if (jr) {
        /* Still blocked: free it so that the program ends. */
        shutdown(fd, SHUT_RDWR);
        pthread_join(w, NULL);
    }
    printf("result=%s join_ms=%ld eintr_seen=%d\n", jr ? "late" : "ok", join_ms, atomic_load(&eintr_seen));
    close(peer);
    close(fd);
    return jr ? 2 : RC_OK;
}
