// live_exitpaths: nothing the program can see stays changed after a hooked
// call, whichever way the call is left. Used by c-tests/live/t_live_exitpaths.sh.
//
//   live_exitpaths CASE
//
// connect-longjmp  a blocking connect() (to a listener whose accept queue
//                  is full: the SYN is dropped) is left by siglongjmp out of
//                  a SIGALRM handler after 400 ms, the classic connect
//                  timeout; the socket must still be blocking, and the
//                  program's retry of connect() must wait again (not fail at
//                  once with EALREADY).
// connect-cancel   the same connect() in a thread that pthread_cancel()
//                  ends after 300 ms: the socket must still be blocking.
// log-longjmp      a read() on an idle TCP connection under a storm of
//                  SIGWINCH from another process (each resumed and logged
//                  under SOCKFIX_LOG) and SIGUSR2 from it too, whose handler
//                  leaves by siglongjmp without restoring the mask (both
//                  handlers SA_NODEFER): after every jump the signal mask and the set of
//                  open fds must be the program's own, never one the
//                  library had while it wrote a log line.
// log-fork         the same storm while another thread forks 300 times: no
//                  fork child may find an fd the library opened for itself.
//
// Output: "CASE: ok ..." or "CASE: FAIL ..."; exit 0 or 1.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "live_util.h"

static sigjmp_buf jump;

static void on_alarm(int sig) {
    (void)sig;
    siglongjmp(jump, 1);
}

static void arm_ms(long ms) {
    struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

// A listener with backlog 0 whose one queue place is taken: SYNs to it are
// dropped, so a blocking connect() stays pending.
static struct sockaddr_in full_listener(void) {
    int port;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 0) < 0) live_die("listen");
    socklen_t sl = sizeof sin;
    if (getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) live_die("getsockname");
    port = ntohs(sin.sin_port);
    if (live_connect("127.0.0.1", port) < 0) live_die("first connect"); // fills the queue
    return sin;
}

static int blocking(int fd) { return !(fcntl(fd, F_GETFL) & O_NONBLOCK); }

static int connect_longjmp(void) {
    struct sockaddr_in to = full_listener();
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) live_die("socket");
    volatile int round = 0;
    volatile long t0 = 0;
    long waited[2] = { 0, 0 };
    int early_errno = 0;
    if (sigsetjmp(jump, 1)) {
        waited[round] = live_now_ms() - t0;
        if (!blocking(s)) {
            printf("connect-longjmp: FAIL the socket was left non-blocking after round %d\n", round + 1);
            return 1;
        }
        round++;
    }
    if (round < 2) {
        t0 = live_now_ms();
        arm_ms(400);
        int r = connect(s, (struct sockaddr *)&to, sizeof to);
        arm_ms(0);
        early_errno = r < 0 ? errno : 0;
        printf("connect-longjmp: FAIL connect %d returned %d (%s) after %ld ms instead of waiting\n", round + 1, r,
               live_errname(early_errno), live_now_ms() - t0);
        return 1;
    }
    if (waited[1] < 300) {
        printf("connect-longjmp: FAIL the retry waited only %ld ms\n", waited[1]);
        return 1;
    }
    printf("connect-longjmp: ok both connects waited until the alarm (%ld, %ld ms); the socket stayed blocking\n",
           waited[0], waited[1]);
    return 0;
}

struct conn_job {
    int fd;
    struct sockaddr_in to;
};

static void *connector(void *arg) {
    struct conn_job *j = arg;
    for (int i = 0; i < 100; i++) // EINTR cannot come here; bounded anyway
        if (connect(j->fd, (struct sockaddr *)&j->to, sizeof j->to) == 0 || errno != EINTR) break;
    return NULL;
}

static int connect_cancel(void) {
    struct conn_job j = { .to = full_listener() };
    j.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (j.fd < 0) live_die("socket");
    pthread_t t;
    if (pthread_create(&t, NULL, connector, &j)) live_die("pthread_create");
    live_sleep_ms(300);
    long t0 = live_now_ms();
    pthread_cancel(t);
    void *ret;
    pthread_join(t, &ret);
    long dt = live_now_ms() - t0;
    if (ret != PTHREAD_CANCELED) {
        printf("connect-cancel: FAIL the connect returned instead of being cancelled\n");
        return 1;
    }
    if (!blocking(j.fd)) {
        printf("connect-cancel: FAIL the socket was left non-blocking by the cancelled connect\n");
        return 1;
    }
    printf("connect-cancel: ok cancelled in %ld ms; the socket stayed blocking\n", dt);
    return 0;
}

// ---- the log cases

// Open fds, counted with raw getdents64 (safe in a fork child), with
// every signal blocked: a handler's siglongjmp must not leak this count's
// own fd.
static int count_fds(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int d = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    char buf[4096];
    int n = 0;
    for (int i = 0; i < 100; i++) {
        long r = syscall(SYS_getdents64, d, buf, sizeof buf);
        if (r <= 0) break;
        for (long off = 0; off < r;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            if (name[0] != '.') n++;
            off += reclen;
        }
    }
    close(d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n - 1; // not the directory itself
}

// The kernel's 64 signals (the rest of a glibc sigset_t is never written).
static int same_mask(const sigset_t *a, const sigset_t *b) {
    for (int s = 1; s <= 64; s++)
        if (sigismember(a, s) != sigismember(b, s)) return 0;
    return 1;
}

static void on_usr2(int sig) {
    (void)sig;
    siglongjmp(jump, 1);
}

// Another process: `sig` every `us` microseconds (plus a jitter of up to
// as much again), for `ms`, then one SIGUSR2 that ends the reader's loop.
// The SIGWINCH and SIGUSR2 storms are two processes, so that a SIGUSR2
// can land while the library writes the log line of a SIGWINCH.
static pid_t outside_storm(int sig, long us, long ms) {
    pid_t parent = getpid(), p = fork();
    if (p < 0) live_die("fork");
    if (p) return p;
    srand((unsigned)getpid());
    long end = live_now_ms() + ms;
    for (int i = 0; i < 100000 && live_now_ms() < end; i++) {
        if (kill(parent, sig) < 0) _exit(0);
        usleep((useconds_t)(us + rand() % (us + 1)));
    }
    kill(parent, SIGUSR2);
    _exit(0);
}

static atomic_int forks_done, forks_bad, stop_forking;
static int baseline_fds;

static void *forker(void *arg) {
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); // the storm is for the reader
    for (int i = 0; i < 300 && !atomic_load(&stop_forking); i++) {
        pid_t c = fork();
        if (c == 0) _exit(count_fds() == baseline_fds ? 0 : 1);
        int st;
        if (c > 0 && waitpid(c, &st, 0) == c && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) atomic_fetch_add(&forks_bad, 1);
        atomic_fetch_add(&forks_done, 1);
        live_sleep_ms(2);
    }
    return NULL;
}

static int log_case(int with_fork) {
    const char *name = with_fork ? "log-fork" : "log-longjmp";
    int lfd = live_listen("127.0.0.1", 0, NULL);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    int c = live_connect("127.0.0.1", ntohs(a.sin_port));
    int peer = accept(lfd, NULL, NULL); // stays idle: the read blocks
    if (c < 0 || peer < 0) live_die("connect");
    // SA_NODEFER on both: a handler runs with the mask of the code it
    // interrupted, so a jump out of it leaves exactly that mask.
    struct sigaction sw = { .sa_handler = live_on_winch, .sa_flags = SA_NODEFER },
                     su = { .sa_handler = on_usr2, .sa_flags = SA_NODEFER };
    sigaction(SIGWINCH, &sw, NULL);
    sigaction(SIGUSR2, &su, NULL);
    sigset_t own;
    pthread_sigmask(SIG_SETMASK, NULL, &own);
    baseline_fds = count_fds();
    pthread_t ft;
    if (with_fork && pthread_create(&ft, NULL, forker, NULL)) live_die("pthread_create");
    // The forker's thread exists now: count again (nothing else opens fds).
    baseline_fds = count_fds();
    long end = live_now_ms() + 1500;
    volatile int jumps = 0, reads = 0, bad_mask = 0, bad_fds = 0;
    volatile pid_t storm = 0, storm2 = 0;
    // The jump target exists before the first SIGUSR2 can come.
    if (sigsetjmp(jump, 0)) jumps++;
    if (!storm) {
        sigset_t both;
        sigemptyset(&both);
        sigaddset(&both, SIGUSR2);
        sigaddset(&both, SIGWINCH);
        pthread_sigmask(SIG_BLOCK, &both, NULL); // no jump while the storms start
        storm = outside_storm(SIGWINCH, 100, 1600);
        storm2 = outside_storm(SIGUSR2, 300, 1600);
        pthread_sigmask(SIG_SETMASK, &own, NULL);
    }
    while (live_now_ms() < end && reads < 100000) {
        sigset_t now;
        pthread_sigmask(SIG_SETMASK, NULL, &now);
        if (!same_mask(&now, &own)) bad_mask++;
        // Not while another thread forks: the fd this count opens would be
        // in the children.
        if (!with_fork && count_fds() != baseline_fds) bad_fds++;
        reads++;
        char b;
        if (read(c, &b, 1) >= 0 || errno != EINTR) break; // the peer never sends
    }
    // No jump once this frame is left: the last signals are ignored.
    signal(SIGUSR2, SIG_IGN);
    signal(SIGWINCH, SIG_IGN);
    if (storm > 0) kill(storm, SIGKILL);
    if (storm2 > 0) kill(storm2, SIGKILL);
    waitpid(storm, NULL, 0);
    waitpid(storm2, NULL, 0);
    if (with_fork) {
        atomic_store(&stop_forking, 1);
        pthread_join(ft, NULL);
    }
    int bad = bad_mask || bad_fds || atomic_load(&forks_bad);
    printf("%s: %s %d reads, %d left by siglongjmp (%d times with a changed signal mask, %d with an extra fd)", name,
           bad ? "FAIL" : "ok", reads, jumps, bad_mask, bad_fds);
    if (with_fork) printf(", %d forks (%d children found an extra fd)", atomic_load(&forks_done), atomic_load(&forks_bad));
    printf("\n");
    return bad;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(30); // a hang fails instead of blocking the suite (connect cases re-arm it)
    const char *c = argc > 1 ? argv[1] : "";
    if (!strcmp(c, "connect-longjmp")) return connect_longjmp();
    if (!strcmp(c, "connect-cancel")) return connect_cancel();
    if (!strcmp(c, "log-longjmp")) return log_case(0);
    if (!strcmp(c, "log-fork")) return log_case(1);
    fprintf(stderr, "usage: live_exitpaths connect-longjmp|connect-cancel|log-longjmp|log-fork\n");
    return 2;
}
