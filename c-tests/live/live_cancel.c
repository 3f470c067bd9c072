// cflags: -O2 -g -D_FORTIFY_SOURCE=2
// live_cancel: pthread_cancel of a thread blocked in a (hooked) socket call on
// a TCP socket must take effect promptly: the call is still a cancellation
// point. Used by c-tests/live/t_live_cancel.sh.
//
//   live_cancel [--expect-clean]
//
// For each call: read, __read_chk, recv, __recv_chk, recvfrom,
// __recvfrom_chk, recvmsg, readv, poll, select, write (into a full send
// buffer) and connect (to a listener whose accept queue is full), a thread
// blocks in it on a fresh loopback TCP connection whose peer never sends nor
// reads; the main thread cancels it, either after 150 ms
// ("quiet") or after 150 ms of SIGWINCH sent to that thread every 5 ms by
// another process (tgkill), with a
// handler without SA_RESTART, still raining during the cancel ("storm"). The
// thread must be gone within 1 s, through its cleanup handler, with
// PTHREAD_CANCELED. (Built with _FORTIFY_SOURCE=2 so that the *_chk variants
// are the ones called where the length is not a constant.)
// The thread itself calls again on EINTR (counted): with --expect-clean
// (library loaded) it must never see one, so the cancellation really hit the
// library's resumed call.
// Output: one line per case, "cancel CALL PHASE: cancelled in N ms (...)" or
// "cancel CALL PHASE: FAIL ...". Exit 0 when every case passed, 1 otherwise.
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "live_util.h"

enum { C_READ, C_READ_CHK, C_RECV, C_RECV_CHK, C_RECVFROM, C_RECVFROM_CHK, C_RECVMSG, C_READV, C_POLL,
       C_SELECT, C_WRITE, C_CONNECT, NCALLS };
static const char *call_name[NCALLS] = { "read", "__read_chk", "recv", "__recv_chk", "recvfrom",
                                         "__recvfrom_chk", "recvmsg", "readv", "poll", "select", "write",
                                         "connect" };

static volatile size_t runtime_len = 512; // not a constant: the fortified *_chk paths

struct job {
    int call, fd;
    struct sockaddr_in addr; // C_CONNECT: a listener whose accept queue is full
    atomic_int blocked, cleaned, returned, eintrs;
    atomic_int tid; // the blocked thread, for the storm's tgkill
    int ret_errno;
    long ret_val;
};

static void cleanup(void *arg) {
    struct job *j = arg;
    atomic_store(&j->cleaned, 1);
}

static void on_winch(int sig) { (void)sig; }

// The blocking call, repeated while it is interrupted (or, for write, while
// it makes progress): only the cancellation may end it.
static void do_call(struct job *j) {
    char buf[512];
    long r = 0;
    if (j->call == C_WRITE) {
        // Fill the send buffer without blocking first; the write below blocks.
        static char big[65536];
        for (int i = 0; i < 100000 && send(j->fd, big, sizeof big, MSG_DONTWAIT) > 0; i++) {}
    }
    atomic_store(&j->blocked, 1);
    for (;;) {
        size_t n = runtime_len;
        switch (j->call) {
        case C_READ: r = read(j->fd, buf, sizeof buf); break;
        case C_READ_CHK: r = read(j->fd, buf, n); break;
        case C_RECV: r = recv(j->fd, buf, sizeof buf, 0); break;
        case C_RECV_CHK: r = recv(j->fd, buf, n, 0); break;
        case C_RECVFROM: r = recvfrom(j->fd, buf, sizeof buf, 0, NULL, NULL); break;
        case C_RECVFROM_CHK: r = recvfrom(j->fd, buf, n, 0, NULL, NULL); break;
        case C_RECVMSG: {
            struct iovec iov = { buf, sizeof buf };
            struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
            r = recvmsg(j->fd, &mh, 0);
            break;
        }
        case C_READV: {
            struct iovec iov[2] = { { buf, 100 }, { buf + 100, sizeof buf - 100 } };
            r = readv(j->fd, iov, 2);
            break;
        }
        case C_POLL: {
            struct pollfd pf = { .fd = j->fd, .events = POLLIN };
            r = poll(&pf, 1, -1);
            break;
        }
        case C_SELECT: {
            fd_set rs;
            FD_ZERO(&rs);
            FD_SET(j->fd, &rs);
            r = select(j->fd + 1, &rs, NULL, NULL, NULL);
            break;
        }
        case C_WRITE: {
            static char big[65536];
            r = write(j->fd, big, sizeof big);
            if (r > 0) continue; // a partial write after a signal: write on
            break;
        }
        case C_CONNECT:
            // Blocks: the SYN is dropped (full accept queue) and retried.
            // Called again after EINTR, a blocking connect waits again.
            r = connect(j->fd, (struct sockaddr *)&j->addr, sizeof j->addr);
            break;
        }
        // Without the library an EINTR comes back here: the application, as
        // a well-written one, just calls again (this test is about
        // cancellation, not EINTR).
        if (r < 0 && errno == EINTR) {
            atomic_fetch_add(&j->eintrs, 1);
            continue;
        }
        break;
    }
    j->ret_val = r;
    j->ret_errno = r < 0 ? errno : 0;
    atomic_store(&j->returned, 1);
}

static void *blocker(void *arg) {
    struct job *j = arg;
    atomic_store(&j->tid, (int)syscall(SYS_gettid));
    pthread_cleanup_push(cleanup, j);
    do_call(j);
    pthread_cleanup_pop(0);
    return NULL;
}

struct storm {
    pthread_t target;
    struct job *job;
    atomic_int stop;
};

// The storm comes from another process (tgkill to the blocked thread), as
// a terminal's or logrotate's signals do: those are the ones the library
// resumes; a signal the program sends itself interrupts as without it.
static void *storm_main(void *arg) {
    struct storm *s = arg;
    pid_t parent = getpid();
    int tid = 0;
    for (int i = 0; i < 1000 && !(tid = atomic_load(&s->job->tid)); i++) live_sleep_ms(1);
    pid_t child = fork();
    if (child < 0) live_die("fork");
    if (child == 0) {
        for (int i = 0; i < 2000; i++) { // at most ~10 s; the parent kills it sooner
            if (syscall(SYS_tgkill, parent, tid, SIGWINCH) < 0) _exit(0);
            live_sleep_ms(5);
        }
        _exit(0);
    }
    for (int i = 0; i < 2000 && !atomic_load(&s->stop); i++) { // at most ~10 s
        if (atomic_load(&s->job->cleaned) || atomic_load(&s->job->returned)) break;
        live_sleep_ms(5);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return NULL;
}

static int expect_clean;

static int run_case(int call, int storm, int lfd, int port) {
    const char *phase = storm ? "storm" : "quiet";
    struct job j = { .call = call };
    int c, a = -1, fl = -1, filler = -1;
    if (call == C_CONNECT) {
        fl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        j.addr.sin_family = AF_INET;
        j.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t al = sizeof j.addr;
        if (fl < 0 || bind(fl, (struct sockaddr *)&j.addr, sizeof j.addr) < 0 || listen(fl, 0) < 0 ||
            getsockname(fl, (struct sockaddr *)&j.addr, &al) < 0)
            live_die("listen (backlog 0)");
        filler = live_connect("127.0.0.1", ntohs(j.addr.sin_port)); // the queue is now full
        if (filler < 0) live_die("connect filler");
        c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0) live_die("socket");
    } else {
        c = live_connect("127.0.0.1", port);
        if (c < 0) live_die("connect");
        a = accept(lfd, NULL, NULL);
        if (a < 0) live_die("accept");
    }
    j.fd = c;
    pthread_t t;
    if (pthread_create(&t, NULL, blocker, &j)) live_die("pthread_create");
    for (int i = 0; i < 200 && !atomic_load(&j.blocked) && !atomic_load(&j.returned); i++) live_sleep_ms(5);

    struct storm st = { .target = t, .job = &j };
    pthread_t stt;
    if (storm && pthread_create(&stt, NULL, storm_main, &st)) live_die("pthread_create");
    live_sleep_ms(150);
    int ok = 1;
    if (atomic_load(&j.returned)) {
        printf("cancel %s %s: FAIL: the call returned before the cancel: %ld (%s)\n", call_name[call], phase,
               j.ret_val, live_errname(j.ret_errno));
        ok = 0;
    }
    long t0 = live_now_ms();
    pthread_cancel(t);
    while (!atomic_load(&j.cleaned) && !atomic_load(&j.returned) && live_now_ms() - t0 < 1000) live_sleep_ms(1);
    long el = live_now_ms() - t0;
    int done = atomic_load(&j.cleaned) || atomic_load(&j.returned);
    if (storm) {
        atomic_store(&st.stop, 1);
        pthread_join(stt, NULL);
    }
    if (!done) {
        printf("cancel %s %s: FAIL: not cancelled within %ld ms (the call is no longer a cancellation point)\n",
               call_name[call], phase, el);
        ok = 0;
        shutdown(c, SHUT_RDWR); // free the thread so that the program can go on
        if (a >= 0) shutdown(a, SHUT_RDWR);
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 3;
    void *ret = NULL;
    int jr = pthread_timedjoin_np(t, &ret, &dl);
    if (jr) {
        printf("cancel %s %s: FAIL: the thread never ended (%s)\n", call_name[call], phase, live_errname(jr));
        fflush(stdout);
        _exit(1);
    }
    if (done && ok) {
        if (ret != PTHREAD_CANCELED || !atomic_load(&j.cleaned)) {
            printf("cancel %s %s: FAIL: the thread ended without being cancelled: returned %ld (%s)\n",
                   call_name[call], phase, j.ret_val, live_errname(j.ret_errno));
            ok = 0;
        } else {
            int ei = atomic_load(&j.eintrs);
            printf("cancel %s %s: cancelled in %ld ms (the application saw EINTR %d times)\n", call_name[call],
                   phase, el, ei);
            if (ei && expect_clean) {
                printf("cancel %s %s: FAIL: the call was not resumed: EINTR reached the application\n",
                       call_name[call], phase);
                ok = 0;
            }
        }
    }
    close(c);
    if (a >= 0) close(a);
    if (filler >= 0) close(filler);
    if (fl >= 0) close(fl);
    return ok;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    expect_clean = argc > 1 && !strcmp(argv[1], "--expect-clean");
    alarm(60);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGWINCH, &sa, NULL) < 0) live_die("sigaction");
    int port;
    int lfd = live_listen("127.0.0.1", 0, &port);
    int bad = 0;
    for (int storm = 0; storm < 2; storm++)
        for (int call = 0; call < NCALLS; call++) bad += !run_case(call, storm, lfd, port);
    printf("%s\n", bad ? "some cancellations failed" : "all cancellations took effect");
    return bad ? 1 : 0;
}
