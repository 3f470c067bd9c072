// live_storm: threads, fork and signals at once. Used by c-tests/live/t_live_storm.sh.
//
//   live_storm [--expect-clean] [THREADS [ITERS [CHILDREN]]]     (4 50 20)
//
// A loopback echo server runs in a forked process (a thread per connection;
// it answers each request after 3 ms, in two halves 2 ms apart, so that the
// clients are blocked in a read when the signals land). THREADS worker threads
// each make ITERS connections: connect, send one request (4-byte length +
// pattern), read the echo with blocking calls and compare it byte for byte.
// Thread k reads with, in turn: read(), recv(), recvmsg(), poll(-1)+read().
// Meanwhile a separate "storm" process sends SIGUSR1 and SIGWINCH every 2 ms
// to every worker thread (tgkill), to the process (kill) and to the children;
// the handlers are installed without SA_RESTART (SIGUSR1's with SA_SIGINFO). And the main thread forks
// CHILDREN children, one every 20 ms, each of which connects, echoes once with
// read() and exits 0 (3, 6, 7 if it saw EINTR in read, connect, write; 4 on
// corrupt data, 5 on another error).
//
// The application treats EINTR on a socket call as fatal for that connection
// (like the MySQL client of the SIGWINCH story): it counts it and moves on.
// Exit status 0 when every echo that was not cut by EINTR came back intact, no
// other error happened, the storm really delivered signals, and, with
// --expect-clean, no EINTR was seen at all. 1 otherwise (reasons on stdout as
// "FAIL: ..."); 2 on a setup error.
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include "live_util.h"

#define MAXT 16
#define MAXC 64
#define MAXREQ 4096

struct shared {
    atomic_int stop;
    atomic_int tgid;
    atomic_int tids[MAXT];
    atomic_int kids[MAXC];
    atomic_long ticks;
};
static struct shared *sh;

static int port;
static atomic_long sigs_total;
static __thread long sigs_thread;

static void on_signal(int sig) {
    (void)sig;
    int e = errno;
    sigs_thread++;
    atomic_fetch_add_explicit(&sigs_total, 1, memory_order_relaxed);
    errno = e;
}

static void on_siginfo(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (si->si_signo == sig) on_signal(sig);
}

// ---- echo server (its own process; robust to EINTR itself) ----

static int srv_read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int srv_send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *srv_conn(void *arg) {
    int fd = (int)(long)arg;
    char buf[4 + MAXREQ];
    for (;;) {
        uint32_t len;
        if (srv_read_full(fd, &len, 4) < 0 || len > MAXREQ) break;
        memcpy(buf, &len, 4);
        if (srv_read_full(fd, buf + 4, len) < 0) break;
        size_t total = 4 + len, half = total / 2;
        live_sleep_ms(3);
        if (srv_send_all(fd, buf, half) < 0) break;
        live_sleep_ms(2);
        if (srv_send_all(fd, buf + half, total - half) < 0) break;
    }
    close(fd);
    return NULL;
}

static void server(int lfd) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(120);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            _exit(1);
        }
        pthread_t t;
        if (pthread_create(&t, &at, srv_conn, (void *)(long)c) != 0) close(c);
    }
}

// ---- storm (its own process) ----

static void storm(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    long end = live_now_ms() + 60000;
    int tgid = atomic_load(&sh->tgid);
    while (!atomic_load(&sh->stop) && live_now_ms() < end) {
        for (int i = 0; i < MAXT; i++) {
            int tid = atomic_load(&sh->tids[i]);
            if (tid > 0) {
                syscall(SYS_tgkill, tgid, tid, SIGUSR1);
                syscall(SYS_tgkill, tgid, tid, SIGWINCH);
            }
        }
        kill(tgid, SIGUSR1);
        kill(tgid, SIGWINCH);
        for (int i = 0; i < MAXC; i++) {
            int k = atomic_load(&sh->kids[i]);
            if (k > 0) {
                kill(k, SIGUSR1);
                kill(k, SIGWINCH);
            }
        }
        atomic_fetch_add(&sh->ticks, 1);
        live_sleep_ms(2);
    }
    _exit(0);
}

// ---- clients ----

enum { RES_OK, RES_EINTR, RES_CORRUPT, RES_ERROR };
enum { M_READ, M_RECV, M_RECVMSG, M_POLL, NMODES };
static const char *mode_name[NMODES] = { "read", "recv", "recvmsg", "poll+read" };

static size_t make_request(char *buf, int who, int iter) {
    uint32_t len = 1000 + (uint32_t)((iter * 37 + who * 101) % 3000);
    memcpy(buf, &len, 4);
    for (uint32_t k = 0; k < len; k++) buf[4 + k] = (char)('a' + (who * 7 + iter * 3 + k) % 26);
    return 4 + len;
}

// One echo round trip. *eintr_where names the call that saw EINTR.
static int echo_once(int who, int iter, int mode, const char **eintr_where) {
    char req[4 + MAXREQ], got[4 + MAXREQ];
    size_t n = make_request(req, who, iter);
    int fd = live_connect("127.0.0.1", port);
    if (fd < 0) {
        *eintr_where = "connect";
        return errno == EINTR ? RES_EINTR : RES_ERROR;
    }
    int res = RES_OK;
    if (live_write_all(fd, req, n) < 0) {
        *eintr_where = "write";
        res = errno == EINTR ? RES_EINTR : RES_ERROR;
        goto out;
    }
    size_t have = 0;
    while (have < n) {
        ssize_t r;
        switch (mode) {
        case M_RECV:
            r = recv(fd, got + have, n - have, 0);
            break;
        case M_RECVMSG: {
            size_t left = n - have, a = left / 2;
            struct iovec iov[2] = { { got + have, a }, { got + have + a, left - a } };
            struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
            r = recvmsg(fd, &mh, 0);
            break;
        }
        case M_POLL: {
            struct pollfd pf = { .fd = fd, .events = POLLIN };
            int pr = poll(&pf, 1, -1);
            if (pr < 0) {
                *eintr_where = "poll";
                res = errno == EINTR ? RES_EINTR : RES_ERROR;
                goto out;
            }
            r = read(fd, got + have, n - have);
            break;
        }
        default:
            r = read(fd, got + have, n - have);
        }
        if (r < 0) {
            *eintr_where = mode_name[mode];
            res = errno == EINTR ? RES_EINTR : RES_ERROR;
            goto out;
        }
        if (r == 0) {
            *eintr_where = "eof";
            res = RES_ERROR;
            goto out;
        }
        have += (size_t)r;
    }
    if (memcmp(req, got, n)) res = RES_CORRUPT;
out:
    close(fd);
    return res;
}

static const char *slot_name[5] = { "connect", "write", "read/recv/recvmsg", "poll", "other" };
static int eintr_slot(const char *where) {
    if (!strcmp(where, "connect")) return 0;
    if (!strcmp(where, "write")) return 1;
    if (!strcmp(where, "poll")) return 3;
    for (int m = 0; m < NMODES; m++)
        if (!strcmp(where, mode_name[m])) return 2;
    return 4;
}

struct worker {
    pthread_t th;
    int idx, iters;
    long count[4];
    long eintr_at[5]; // connect write read poll other
    long sigs;
    char last_error[128];
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    atomic_store(&sh->tids[w->idx], (int)gettid());
    int mode = w->idx % NMODES;
    for (int i = 0; i < w->iters; i++) {
        const char *where = "";
        errno = 0;
        int r = echo_once(w->idx, i, mode, &where);
        int e = errno;
        w->count[r]++;
        if (r == RES_EINTR) w->eintr_at[eintr_slot(where)]++;
        if (r == RES_ERROR)
            snprintf(w->last_error, sizeof w->last_error, "iteration %d: %s: %s", i, where, live_errname(e));
        if (r == RES_CORRUPT) snprintf(w->last_error, sizeof w->last_error, "iteration %d: echo corrupted", i);
    }
    atomic_store(&sh->tids[w->idx], 0);
    w->sigs = sigs_thread;
    return NULL;
}

static void child_main(int k) {
    alarm(20);
    const char *where = "";
    int r = echo_once(100 + k, k, M_READ, &where);
    if (r == RES_EINTR) _exit(!strcmp(where, "connect") ? 6 : !strcmp(where, "write") ? 7 : 3);
    _exit(r == RES_OK ? 0 : r == RES_CORRUPT ? 4 : 5);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int expect_clean = 0, a = 1;
    if (a < argc && !strcmp(argv[a], "--expect-clean")) expect_clean = 1, a++;
    int nthreads = a < argc ? atoi(argv[a++]) : 4;
    int iters = a < argc ? atoi(argv[a++]) : 50;
    int nkids = a < argc ? atoi(argv[a++]) : 20;
    if (nthreads < 1 || nthreads > MAXT || iters < 1 || nkids < 0 || nkids > MAXC) {
        fprintf(stderr, "usage: live_storm [--expect-clean] [THREADS<=%d [ITERS [CHILDREN<=%d]]]\n", MAXT, MAXC);
        return 2;
    }
    alarm(90); // a hang ends as a kill by SIGALRM, never forever
    long t0 = live_now_ms();

    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) live_die("mmap");
    atomic_store(&sh->tgid, getpid());

    pid_t srv = live_fork_server(server, &port);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART
    if (sigaction(SIGWINCH, &sa, NULL) < 0) live_die("sigaction");
    sa.sa_sigaction = on_siginfo; // SIGUSR1: an SA_SIGINFO handler, no SA_RESTART either
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGUSR1, &sa, NULL) < 0) live_die("sigaction");

    pid_t stp = fork();
    if (stp < 0) live_die("fork");
    if (stp == 0) storm();

    static struct worker ws[MAXT];
    for (int i = 0; i < nthreads; i++) {
        ws[i].idx = i;
        ws[i].iters = iters;
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) live_die("pthread_create");
    }

    pid_t kids[MAXC];
    for (int k = 0; k < nkids; k++) {
        live_sleep_ms(20);
        pid_t p = fork();
        if (p < 0) live_die("fork child %d", k);
        if (p == 0) child_main(k);
        kids[k] = p;
        atomic_store(&sh->kids[k], p); // not reaped before the storm ends: the pid stays ours
    }
    for (int i = 0; i < nthreads; i++) pthread_join(ws[i].th, NULL);

    atomic_store(&sh->stop, 1);
    int st;
    while (waitpid(stp, &st, 0) < 0 && errno == EINTR) {}
    long ticks = atomic_load(&sh->ticks);

    int kid_ok = 0, kid_eintr = 0, kid_bad = 0, kid_eintr_at[3] = { 0, 0, 0 }; // read connect write
    char kid_err[256] = "";
    for (int k = 0; k < nkids; k++) {
        while (waitpid(kids[k], &st, 0) < 0) {
            if (errno != EINTR) live_die("waitpid");
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) kid_ok++;
        else if (WIFEXITED(st) && (WEXITSTATUS(st) == 3 || WEXITSTATUS(st) == 6 || WEXITSTATUS(st) == 7)) {
            kid_eintr++;
            kid_eintr_at[WEXITSTATUS(st) == 3 ? 0 : WEXITSTATUS(st) - 5]++;
        }
        else {
            kid_bad++;
            if (WIFSIGNALED(st))
                snprintf(kid_err, sizeof kid_err, "child %d killed by %s", k, sigabbrev_np(WTERMSIG(st)));
            else
                snprintf(kid_err, sizeof kid_err, "child %d exit %d (4 corrupt, 5 error)", k, WEXITSTATUS(st));
        }
    }
    kill(srv, SIGKILL);
    while (waitpid(srv, &st, 0) < 0 && errno == EINTR) {}
    long elapsed = live_now_ms() - t0;

    int fails = 0;
    long eintr = kid_eintr, ok = kid_ok, worker_sigs = 0;
    long by_call[5] = { kid_eintr_at[1], kid_eintr_at[2], kid_eintr_at[0], 0, 0 };
    for (int i = 0; i < nthreads; i++)
        for (int c = 0; c < 5; c++) by_call[c] += ws[i].eintr_at[c];
    for (int i = 0; i < nthreads; i++) {
        struct worker *w = &ws[i];
        printf("thread %d mode=%s ok=%ld eintr=%ld corrupt=%ld error=%ld signals=%ld", i,
               mode_name[i % NMODES], w->count[RES_OK], w->count[RES_EINTR], w->count[RES_CORRUPT],
               w->count[RES_ERROR], w->sigs);
        if (w->count[RES_EINTR]) {
            printf(" (EINTR in");
            for (int s = 0; s < 5; s++)
                if (w->eintr_at[s]) printf(" %s:%ld", slot_name[s], w->eintr_at[s]);
            printf(")");
        }
        printf("\n");
        eintr += w->count[RES_EINTR];
        ok += w->count[RES_OK];
        worker_sigs += w->sigs;
        if (w->count[RES_CORRUPT] || w->count[RES_ERROR]) {
            printf("FAIL: thread %d (%s): %s\n", i, mode_name[i % NMODES], w->last_error);
            fails++;
        }
    }
    printf("children ok=%d eintr=%d failed=%d", kid_ok, kid_eintr, kid_bad);
    if (kid_eintr)
        printf(" (EINTR in read:%d connect:%d write:%d)", kid_eintr_at[0], kid_eintr_at[1], kid_eintr_at[2]);
    printf("\n");
    if (kid_bad) {
        printf("FAIL: %d children failed, e.g. %s\n", kid_bad, kid_err);
        fails++;
    }
    printf("storm ticks=%ld signals_handled=%ld (workers %ld)\n", ticks, atomic_load(&sigs_total), worker_sigs);
    printf("total ok=%ld eintr=%ld elapsed_ms=%ld\n", ok, eintr, elapsed);
    if (worker_sigs < 20) {
        printf("FAIL: the worker threads handled only %ld signals: the storm did not work\n", worker_sigs);
        fails++;
    }
    if (expect_clean && eintr) {
        printf("FAIL: the application saw EINTR %ld times on TCP sockets, from", eintr);
        for (int c = 0; c < 5; c++)
            if (by_call[c]) printf(" %s() %ld times", slot_name[c], by_call[c]);
        printf("\n");
        fails++;
    }
    return fails ? 1 : 0;
}
