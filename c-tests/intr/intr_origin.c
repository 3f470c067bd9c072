// cflags: -O2 -g -lrt
/* The signal-origin rule (issue 9): one blocking call on a loopback TCP
 * connection, one signal of a chosen origin while it blocks.
 *
 * The library resumes a call that a signal interrupted only when the signal
 * came from OUTSIDE the process (another process, a terminal); a signal the
 * process raised itself (kill/sigqueue/tgkill of its own pid, pthread_kill,
 * its timers, its children, its own I/O: SIGIO, SIGURG, a message queue or
 * AIO notification it asked for) interrupts exactly as
 * without the library.  This program produces one signal of each origin at
 * T ms while its main thread blocks in ONE call whose peer answers (sends,
 * drains or accepts) only at D ms, so:
 *   result=eintr soon after T   the signal interrupted the call (passes)
 *   result=ok    after >= D     the call was resumed and the data arrived
 *
 * Like the MySQL client of the SIGWINCH story, the handler is installed without
 * SA_RESTART and EINTR is fatal.  The handler records the siginfo it saw.
 * Every helper thread blocks every signal, so a process-directed signal can
 * only land on the blocked (main) thread.
 *
 * usage: intr_origin -c CALL -o ORIGIN [-s SIG] [-t T_ms] [-d D_ms]
 *   CALL    read recv write connect poll select
 *   ORIGIN  see the table `origins` below (intr_origin -h lists them)
 *   SIG     the signal to produce, where the origin lets us choose (default
 *           per origin; chosen so that the default pass list does not decide)
 * Prints "pid=...", "blocking in CALL", "siginfo: signo=N code=N (NAME)
 * pid=N (self|other|none)", "result=<ok|eintr|...> elapsed_ms=N sig_ms=N"
 * and "handled: SIG=count"; exit codes as in intr_common.h.
 */
#include "intr_common.h"
#include <aio.h>
#include <mqueue.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <termios.h>

static long T = 300, D = 1500;
static int sig;                 /* the signal this run produces */
static pid_t self_pid, main_tid; /* the blocked thread is the main thread */
static long t_base;             /* T and D count from here */
/* The first signal's siginfo: the one that met the blocking call (stopping
 * the children afterwards may raise more, SIGCHLD for one). */
static volatile sig_atomic_t g_first_ms = -1, g_first_code, g_first_pid;

static void on_signal(int s, siginfo_t *si, void *uc)
{
    int e = errno;
    if (g_first_ms < 0) {
        g_first_ms = now_ms() - t_base;
        g_first_code = si->si_code;
        g_first_pid = si->si_pid;
    }
    h_info(s, si, uc);
    errno = e;
}

/* Sleep until T ms after t_base (helpers forked or started after it). */
static void sleep_until(long at_ms)
{
    long left = at_ms - (now_ms() - t_base);
    if (left > 0)
        sleep_ms(left);
}

/* fork(), the child bounded: it dies with this process, and after 60 s. */
static pid_t fork_bounded(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(60);
    }
    return pid;
}

/* A child process that runs fn(arg) at T ms and then stays until it is
 * killed (its exit would raise SIGCHLD, a second signal), at most 60 s. */
static pid_t child_at_T(void (*fn)(void *), void *arg)
{
    pid_t pid = fork_bounded();
    if (pid > 0)
        return pid;
    /* Deaf to whatever the test sends its process group. */
    signal(sig, SIG_DFL);
    sleep_until(T);
    fn(arg);
    for (;;)
        pause();
}

/* A helper thread of ours that runs fn(arg) at T ms, with every signal
 * blocked (set by the caller around pthread_create). */
struct helper {
    void (*fn)(void *);
    void *arg;
};
static struct helper g_helper;
static pthread_t g_helper_thread;
static int g_have_helper;

static void *helper_main(void *unused)
{
    (void)unused;
    sleep_until(T);
    g_helper.fn(g_helper.arg);
    return NULL;
}

static void thread_at_T(void (*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    g_helper.fn = fn;
    g_helper.arg = arg;
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the new thread inherits it */
    if (pthread_create(&g_helper_thread, NULL, helper_main, NULL))
        die("pthread_create");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    g_have_helper = 1;
}

/* ---------- origins: another process ---------- */

static void do_kill_parent(void *a) { (void)a; kill(getppid(), sig); }

static void do_sigqueue_parent(void *a)
{
    (void)a;
    union sigval v = { .sival_int = 42 };
    sigqueue(getppid(), sig, v);
}

static void do_tgkill_parent(void *a) { (void)a; syscall(SYS_tgkill, self_pid, main_tid, sig); }

/* kill-other: another process kill()s us: SI_USER, si_pid = that process. */
static pid_t o_kill_other(void) { return child_at_T(do_kill_parent, NULL); }
/* sigqueue-other: SI_QUEUE, si_pid = the other process. */
static pid_t o_sigqueue_other(void) { return child_at_T(do_sigqueue_parent, NULL); }
/* tgkill-other: another process aims at our blocked thread: SI_TKILL, its pid. */
static pid_t o_tgkill_other(void) { return child_at_T(do_tgkill_parent, NULL); }

/* tty / tty-hangup: a pseudo-terminal becomes our controlling terminal
 * (setsid, then TIOCSCTTY; main() made sure we are not a process-group
 * leader), another process holds the master side.  Done after the peer is
 * forked: the peer stays in the old session and holds no master copy (the
 * hangup comes when the LAST copy closes). */
static int g_master = -1, g_slave = -1;

static int open_ctty(void)
{
    if (setsid() < 0)
        die("setsid");
    g_master = posix_openpt(O_RDWR | O_NOCTTY);
    if (g_master < 0 || grantpt(g_master) || unlockpt(g_master)) {
        printf("no pseudo-terminals here: %s\n", strerror(errno));
        return RC_SKIP;
    }
    g_slave = open(ptsname(g_master), O_RDWR | O_NOCTTY);
    if (g_slave < 0)
        die("open pty slave");
    /* A first size while the terminal is no one's yet (no SIGWINCH): the
     * resize at T must be a change. */
    struct winsize ws = { .ws_row = 24, .ws_col = 80 };
    ioctl(g_master, TIOCSWINSZ, &ws);
    if (ioctl(g_slave, TIOCSCTTY, 0) < 0)
        die("TIOCSCTTY");
    return 0;
}

static void do_resize(void *a)
{
    (void)a;
    struct winsize ws = { .ws_row = 50, .ws_col = 132 };
    ioctl(g_master, TIOCSWINSZ, &ws);
}

static void do_hangup(void *a) { (void)a; close(g_master); }

/* tty: the terminal is resized by another process (screen, tmux, a window
 * manager): the kernel sends SIGWINCH to our process group, SI_KERNEL,
 * si_pid 0.  An outside event. */
static pid_t o_tty(void)
{
    if (open_ctty())
        exit(RC_SKIP);
    return child_at_T(do_resize, NULL);
}

/* tty-hangup: the last holder of the master side closes it (sshd when the
 * connection drops): the kernel hangs the terminal up and sends SIGHUP (and
 * SIGCONT, default action) to us, the session leader, SI_KERNEL.  An
 * outside event. */
static pid_t o_tty_hangup(void)
{
    if (open_ctty())
        exit(RC_SKIP);
    pid_t p = child_at_T(do_hangup, NULL);
    close(g_master); /* the child's copy is now the last one */
    g_master = -1;
    return p;
}

/* child-exit: a child of ours exits at T: SIGCHLD, CLD_EXITED, its pid. */
static pid_t o_child_exit(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        sleep_until(T);
        _exit(0);
    }
    return 0; /* reaped by nobody until we exit: nothing to stop */
}

/* sigio: O_ASYNC + F_SETOWN(us) on a pipe another process writes to at T:
 * the kernel sends SIGIO, SI_KERNEL; with F_SETSIG (sigio-setsig) the
 * chosen signal with si_code POLL_IN.  Our own I/O: passes. */
static int g_io[2] = { -1, -1 };

static void do_write_pipe(void *a)
{
    (void)a;
    if (write(g_io[1], "x", 1) != 1)
        _exit(1);
}

static pid_t sigio_common(int setsig)
{
    if (pipe(g_io))
        die("pipe");
    if (fcntl(g_io[0], F_SETOWN, self_pid) || (setsig && fcntl(g_io[0], F_SETSIG, sig)) ||
        fcntl(g_io[0], F_SETFL, fcntl(g_io[0], F_GETFL) | O_ASYNC))
        die("O_ASYNC on a pipe");
    pid_t p = child_at_T(do_write_pipe, NULL);
    close(g_io[1]);
    return p;
}

static pid_t o_sigio(void) { return sigio_common(0); }
static pid_t o_sigio_setsig(void) { return sigio_common(1); }

/* sigurg: F_SETOWN(us) on a second TCP connection whose peer (another
 * process) sends one out-of-band byte at T: SIGURG, SI_KERNEL.  Passes. */
static int g_urg_peer = -1;

static void do_send_oob(void *a)
{
    (void)a;
    if (send(g_urg_peer, "!", 1, MSG_OOB) != 1)
        _exit(1);
}

static pid_t o_sigurg(void)
{
    int mine, peer;
    if (make_pair("tcp4", &mine, &peer, NULL))
        die("second connection");
    if (fcntl(mine, F_SETOWN, self_pid))
        die("F_SETOWN");
    g_urg_peer = peer;
    pid_t p = child_at_T(do_send_oob, NULL);
    close(peer);
    return p; /* `mine` stays open until exit */
}

/* mq: we register mq_notify(SIGEV_SIGNAL); another process sends a message
 * at T: SI_MESGQ, si_pid = the sender.  We asked for it: passes. */
static mqd_t g_mq = (mqd_t)-1;

static void do_mq_send(void *a)
{
    (void)a;
    if (mq_send(g_mq, "m", 1, 0))
        _exit(1);
}

static pid_t o_mq(void)
{
    char name[64];
    snprintf(name, sizeof name, "/sockfix-origin-%d", (int)self_pid);
    struct mq_attr at = { .mq_maxmsg = 1, .mq_msgsize = 8 };
    g_mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &at);
    if (g_mq == (mqd_t)-1) {
        printf("no POSIX message queues here: %s\n", strerror(errno));
        exit(RC_SKIP);
    }
    mq_unlink(name); /* the descriptors stay valid, nothing is left behind */
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig };
    if (mq_notify(g_mq, &ev))
        die("mq_notify");
    return child_at_T(do_mq_send, NULL);
}

/* aio: aio_read on a pipe that another process writes to at T, completion
 * notified with SIGEV_SIGNAL: glibc's AIO thread (every signal blocked)
 * queues it to the process, SI_ASYNCIO, si_pid = us.  Passes. */
static struct aiocb g_aio;
static char g_aio_buf[8];

static pid_t o_aio(void)
{
    if (pipe(g_io))
        die("pipe");
    pid_t p = child_at_T(do_write_pipe, NULL);
    close(g_io[1]);
    memset(&g_aio, 0, sizeof g_aio);
    g_aio.aio_fildes = g_io[0];
    g_aio.aio_buf = g_aio_buf;
    g_aio.aio_nbytes = 1;
    g_aio.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
    g_aio.aio_sigevent.sigev_signo = sig;
    if (aio_read(&g_aio))
        die("aio_read");
    return p;
}

/* ---------- origins: the process itself ---------- */

static void do_kill_self(void *a) { (void)a; kill(self_pid, sig); }

static void do_sigqueue_self(void *a)
{
    (void)a;
    union sigval v = { .sival_int = 7 };
    sigqueue(self_pid, sig, v);
}

static void do_pthread_kill(void *a) { (void)a; pthread_kill(*(pthread_t *)a, sig); }
static void do_tgkill_self(void *a) { (void)a; syscall(SYS_tgkill, self_pid, main_tid, sig); }

static pthread_t g_main_thread;

/* kill-self: a helper thread of ours kill()s our pid: SI_USER, si_pid = us. */
static pid_t o_kill_self(void) { thread_at_T(do_kill_self, NULL); return 0; }
/* sigqueue-self: SI_QUEUE, si_pid = us. */
static pid_t o_sigqueue_self(void) { thread_at_T(do_sigqueue_self, NULL); return 0; }
/* pthread-kill: a helper thread wakes the blocked one: SI_TKILL, us. */
static pid_t o_pthread_kill(void) { thread_at_T(do_pthread_kill, &g_main_thread); return 0; }
/* tgkill-self: the raw syscall behind raise()/pthread_kill: SI_TKILL, us. */
static pid_t o_tgkill_self(void) { thread_at_T(do_tgkill_self, NULL); return 0; }
/* Not here: SIGPIPE and SIGXFSZ.  The kernel sends them to the THREAD whose
 * write failed (EPIPE, EFBIG), so they never interrupt another thread's
 * blocking call, and the failing call itself returns its own error, not
 * EINTR. */

/* timer / timer-thread: a POSIX timer of ours fires at T, SIGEV_SIGNAL to
 * the process or SIGEV_THREAD_ID to the blocked thread: SI_TIMER. */
static pid_t timer_common(int to_thread)
{
    timer_t tm;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_signo = sig;
    if (to_thread) {
        ev.sigev_notify = SIGEV_THREAD_ID;
        ev._sigev_un._tid = main_tid; /* glibc < 2.35 has no sigev_notify_thread_id */
    } else {
        ev.sigev_notify = SIGEV_SIGNAL;
    }
    if (timer_create(CLOCK_MONOTONIC, &ev, &tm))
        die("timer_create");
    long left = T - (now_ms() - t_base);
    if (left < 1)
        left = 1;
    struct itimerspec its = { .it_value = { left / 1000, (left % 1000) * 1000000L } };
    if (timer_settime(tm, 0, &its, NULL))
        die("timer_settime");
    return 0;
}

static pid_t o_timer(void) { return timer_common(0); }
static pid_t o_timer_thread(void) { return timer_common(1); }

/* itimer: setitimer(ITIMER_REAL) raises SIGALRM, SI_KERNEL, si_pid 0: it
 * is ours all the same (run with SOCKFIX_EINTR_PASS=INT, so that the pass
 * list does not decide). */
static pid_t o_itimer(void)
{
    long left = T - (now_ms() - t_base);
    if (left < 1)
        left = 1;
    struct itimerval it = { .it_value = { left / 1000, (left % 1000) * 1000 } };
    if (setitimer(ITIMER_REAL, &it, NULL))
        die("setitimer");
    return 0;
}

/* external: nothing here; the test script sends the signal (for instance
 * from outside our PID namespace, where si_pid reads 0).  It needs our pid
 * as its namespace knows it: /proc/self, read through a /proc mounted for
 * that namespace, says it. */
static pid_t o_external(void)
{
    char b[32] = "";
    ssize_t n = readlink("/proc/self", b, sizeof b - 1);
    printf("outer_pid=%s\n", n > 0 ? b : "?");
    return 0;
}

static const struct origin {
    const char *name;
    const char *default_sig;
    pid_t (*start)(void); /* returns a child to stop afterwards, or 0 */
    int needs_ctty;
} origins[] = {
    { "kill-other", "USR1", o_kill_other, 0 },
    { "sigqueue-other", "USR1", o_sigqueue_other, 0 },
    { "tgkill-other", "USR1", o_tgkill_other, 0 },
    { "tty", "WINCH", o_tty, 1 },
    { "tty-hangup", "HUP", o_tty_hangup, 1 },
    { "external", "USR1", o_external, 0 },
    { "kill-self", "USR1", o_kill_self, 0 },
    { "sigqueue-self", "USR1", o_sigqueue_self, 0 },
    { "pthread-kill", "USR1", o_pthread_kill, 0 },
    { "tgkill-self", "USR1", o_tgkill_self, 0 },
    { "timer", "USR2", o_timer, 0 },
    { "timer-thread", "USR2", o_timer_thread, 0 },
    { "itimer", "ALRM", o_itimer, 0 },
    { "child-exit", "CHLD", o_child_exit, 0 },
    { "sigio", "IO", o_sigio, 0 },
    { "sigio-setsig", "USR2", o_sigio_setsig, 0 },
    { "sigurg", "URG", o_sigurg, 0 },
    { "mq", "USR2", o_mq, 0 },
    { "aio", "USR2", o_aio, 0 },
};

/* ---------- the blocking calls ---------- */

enum { LEN = 1000 }; /* what the peer sends at D */

struct call_state {
    int fd;            /* ours */
    int peer_fd;       /* the other end (connect: the listener) */
    pid_t peer;        /* the child that answers at D */
    size_t write_total; /* write: what the peer must receive in all */
    size_t written;    /* write: what was written before the call */
    struct sockaddr_in addr; /* connect: the listener */
};

/* read, recv, poll, select: a connection whose peer sends LEN bytes at D. */
static void setup_reader(struct call_state *c)
{
    if (make_pair("tcp4", &c->fd, &c->peer_fd, NULL))
        die("connection");
}

static void peer_reader(struct call_state *c)
{
    c->peer = writer_start(c->peer_fd, c->fd, D, 1, 0, LEN);
    close(c->peer_fd);
}

/* write: small buffers, filled without blocking (until a round adds
 * nothing: loopback moves data on to the peer's receive buffer for a
 * moment); the blocking write that follows waits for the peer's drain. */
static void setup_writer(struct call_state *c)
{
    int small = 16384, fd, peer;
    struct pair_opts o = { .rcvbuf = small, .sndbuf = 0 };
    if (make_pair("tcp4", &fd, &peer, &o))
        die("connection");
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    unsigned char buf[4096];
    for (int round = 0; round < 50; round++) {
        size_t added = 0;
        for (int i = 0; i < 10000; i++) {
            pat_fill(buf, c->written, sizeof buf);
            ssize_t n = send(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0)
                break;
            c->written += (size_t)n;
            added += (size_t)n;
        }
        if (round > 0 && added == 0)
            break;
        sleep_ms(50);
    }
    c->fd = fd;
    c->peer_fd = peer;
    c->write_total = c->written + 65536;
}

static void peer_writer(struct call_state *c)
{
    c->peer = fork_bounded();
    if (c->peer == 0) {
        close(c->fd);
        sleep_until(D); /* the peer reads nothing until D */
        _exit(pat_read_all(c->peer_fd, 0, c->write_total));
    }
    close(c->peer_fd);
}

/* connect: a listener with backlog 0 whose accept queue one connection
 * already fills: the kernel drops our SYN and retransmits it (1 s, 3 s...);
 * the peer accepts at D, so a retransmitted SYN then succeeds. */
static void setup_connector(struct call_state *c)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t al = sizeof c->addr;
    c->addr.sin_family = AF_INET;
    c->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&c->addr, sizeof c->addr) || listen(l, 0) ||
        getsockname(l, (struct sockaddr *)&c->addr, &al))
        die("listener (backlog 0)");
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    if (filler < 0 || connect(filler, (struct sockaddr *)&c->addr, sizeof c->addr))
        die("filler connect");
    /* `filler` stays open until exit: it holds the queue full until D. */
    c->peer_fd = l;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        die("socket");
}

static void peer_connector(struct call_state *c)
{
    c->peer = fork_bounded();
    if (c->peer == 0) {
        sleep_until(D);
        for (int i = 0; i < 2; i++)
            if (accept(c->peer_fd, NULL, NULL) < 0 && errno != EINTR)
                break;
        for (;;)
            pause();
    }
    close(c->peer_fd);
}

/* Read exactly LEN pattern bytes; any EINTR is fatal. */
static int read_all(int fd, int use_recv)
{
    unsigned char buf[LEN];
    size_t got = 0;
    while (got < LEN) {
        ssize_t n = use_recv ? recv(fd, buf + got, LEN - got, 0) : read(fd, buf + got, LEN - got);
        if (n < 0)
            return errno == EINTR ? RC_EINTR : RC_ERR;
        if (n == 0)
            return RC_EOF;
        got += (size_t)n;
    }
    return pat_check(buf, 0, LEN) >= 0 ? RC_ERR : RC_OK;
}

static int call_read(struct call_state *c) { return read_all(c->fd, 0); }
static int call_recv(struct call_state *c) { return read_all(c->fd, 1); }

static int call_poll(struct call_state *c)
{
    struct pollfd p = { c->fd, POLLIN, 0 };
    int r = poll(&p, 1, -1);
    if (r < 0)
        return errno == EINTR ? RC_EINTR : RC_ERR;
    return read_all(c->fd, 0); /* ready: this does not block */
}

static int call_select(struct call_state *c)
{
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(c->fd, &rs);
    int r = select(c->fd + 1, &rs, NULL, NULL, NULL);
    if (r < 0)
        return errno == EINTR ? RC_EINTR : RC_ERR;
    return read_all(c->fd, 0);
}

static int call_write(struct call_state *c)
{
    static unsigned char buf[65536];
    size_t len = c->write_total - c->written, done = 0;
    pat_fill(buf, c->written, len);
    while (done < len) { /* short writes are legal; EINTR is fatal */
        ssize_t n = write(c->fd, buf + done, len - done);
        if (n < 0)
            return errno == EINTR ? RC_EINTR : RC_ERR;
        done += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    int st = 0;
    while (waitpid(c->peer, &st, 0) < 0 && errno == EINTR)
        ;
    c->peer = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("the peer did not receive the stream intact (status 0x%x)\n", st);
        return RC_ERR;
    }
    return RC_OK;
}

static int call_connect(struct call_state *c)
{
    if (connect(c->fd, (struct sockaddr *)&c->addr, sizeof c->addr))
        return errno == EINTR ? RC_EINTR : RC_ERR;
    struct sockaddr_in p;
    socklen_t pl = sizeof p;
    return getpeername(c->fd, (struct sockaddr *)&p, &pl) ? RC_ERR : RC_OK;
}

static const struct call {
    const char *name;
    void (*setup)(struct call_state *); /* the connection, before T and D count */
    void (*peer)(struct call_state *);  /* forks the peer that answers at D */
    int (*run)(struct call_state *);    /* the blocking call */
} calls[] = {
    { "read", setup_reader, peer_reader, call_read },
    { "recv", setup_reader, peer_reader, call_recv },
    { "poll", setup_reader, peer_reader, call_poll },
    { "select", setup_reader, peer_reader, call_select },
    { "write", setup_writer, peer_writer, call_write },
    { "connect", setup_connector, peer_connector, call_connect },
};

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TIMER: return "SI_TIMER";
    case SI_MESGQ: return "SI_MESGQ";
    case SI_ASYNCIO: return "SI_ASYNCIO";
    case SI_SIGIO: return "SI_SIGIO";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    default: return code > 0 ? "signal-specific" : "?";
    }
}

static const char *rc_name(int rc)
{
    switch (rc) {
    case RC_OK: return "ok";
    case RC_EINTR: return "eintr";
    case RC_EOF: return "eof";
    default: return "error";
    }
}

static void usage(void)
{
    printf("usage: intr_origin -c CALL -o ORIGIN [-s SIG] [-t T_ms] [-d D_ms]\ncalls:");
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        printf(" %s", calls[i].name);
    printf("\norigins:");
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++)
        printf(" %s", origins[i].name);
    printf("\n");
}

/* setsid() fails in a process-group leader: then run the test in a child. */
static void not_a_group_leader(void)
{
    if (getpgrp() != getpid())
        return;
    fflush(stdout);
    pid_t p = fork();
    if (p < 0)
        die("fork");
    if (p == 0)
        return;
    int st = 0;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR)
        ;
    exit(WIFEXITED(st) ? WEXITSTATUS(st) : RC_ERR);
}

int main(int argc, char **argv)
{
    const char *cname = "read", *oname = "kill-other", *sname = NULL;
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "c:o:s:t:d:h")) != -1) {
        switch (opt) {
        case 'c': cname = optarg; break;
        case 'o': oname = optarg; break;
        case 's': sname = optarg; break;
        case 't': T = atol(optarg); break;
        case 'd': D = atol(optarg); break;
        default: usage(); return opt == 'h' ? 0 : RC_ERR;
        }
    }
    const struct call *call = NULL;
    const struct origin *origin = NULL;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (!strcmp(calls[i].name, cname))
            call = &calls[i];
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++)
        if (!strcmp(origins[i].name, oname))
            origin = &origins[i];
    if (!call || !origin) {
        usage();
        return RC_ERR;
    }
    sig = sig_parse(sname ? sname : origin->default_sig);
    if (origin->needs_ctty)
        not_a_group_leader();
    self_pid = getpid();
    main_tid = (pid_t)syscall(SYS_gettid);
    g_main_thread = pthread_self();
    printf("pid=%d call=%s origin=%s sig=%s T=%ld D=%ld\n", (int)self_pid, call->name, origin->name, sig_str(sig),
           T, D);

    /* The MySQL client's kind of handler: SA_SIGINFO (to report the origin), no
     * SA_RESTART.  Installed before anything can send the signal. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL))
        die("sigaction");
    if (sig != SIGPIPE)
        signal(SIGPIPE, SIG_IGN); /* the peers may see us go */

    struct call_state cs;
    memset(&cs, 0, sizeof cs);
    call->setup(&cs);
    t_base = now_ms(); /* T and D count from here, in the children too */
    call->peer(&cs);
    pid_t helper = origin->start();

    printf("blocking in %s\n", call->name);
    long t0 = now_ms();
    int rc = call->run(&cs);
    long el = now_ms() - t0;

    if (g_have_helper)
        pthread_join(g_helper_thread, NULL);
    stop_child(helper);
    stop_child(cs.peer);
    /* si_pid means a sender for SI_USER/SI_QUEUE/SI_TKILL/SI_MESGQ/
     * SI_ASYNCIO and SIGCHLD; for SIGIO's POLL_* codes the same bytes are
     * si_band. */
    int code = g_first_code, spid = g_first_pid;
    int has_pid = code <= 0 || sig == SIGCHLD;
    printf("siginfo: signo=%d code=%d (%s) pid=%d (%s)\n", g_hits[sig] ? sig : 0, code, code_name(code), spid,
           !g_hits[sig] ? "no signal"
           : !has_pid   ? "not a pid"
           : spid == 0  ? "none"
           : spid == self_pid ? "self" : "other");
    printf("result=%s elapsed_ms=%ld sig_ms=%ld call=%s origin=%s\n", rc_name(rc), el, (long)g_first_ms,
           call->name, origin->name);
    print_hits();
    return rc;
}
