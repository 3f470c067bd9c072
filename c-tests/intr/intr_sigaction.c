/* A program that asks sigaction() what its handlers are, and checks that its
 * handlers get what the kernel gives them: the library may wrap handlers, but
 * the program must never see it.
 *
 * It prints one line per check, "ok   ..." or "FAIL ...", with no pids or
 * addresses, so that the output with and without the library can be compared
 * line by line; exit 0 if every check passed.
 *
 * usage: intr_sigaction            (all checks)
 *        intr_sigaction exec-child (internal: after exec, report dispositions)
 */
#include "intr_common.h"
#include <sys/syscall.h>

#define FLAGMASK (~0x04000000) /* SA_RESTORER: glibc's own, not the program's */

static int fails;
#define CHECK(cond, ...)                              \
    do {                                              \
        int c_ = (cond);                              \
        printf(c_ ? "ok   " : "FAIL ");               \
        printf(__VA_ARGS__);                          \
        printf("\n");                                 \
        if (!c_)                                      \
            fails++;                                  \
    } while (0)

static volatile sig_atomic_t n_info, n_plain, n_sig, n_nodefer;
static volatile sig_atomic_t i_signo, i_si_signo, i_pid, i_code, i_val, i_uc, i_self_blocked, i_usr2_blocked;
static volatile sig_atomic_t nd_self_blocked = -1;

static int blocked(int sig)
{
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    return sigismember(&cur, sig);
}

static void H_info(int sig, siginfo_t *si, void *uc)
{
    int e = errno;
    n_info++;
    i_signo = sig;
    i_si_signo = si ? si->si_signo : -1;
    i_pid = si ? si->si_pid : -1;
    i_code = si ? si->si_code : -1;
    i_val = si ? si->si_value.sival_int : -1;
    i_uc = uc != NULL;
    i_self_blocked = blocked(sig);
    i_usr2_blocked = blocked(SIGUSR2);
    errno = e;
}

static void H_nodefer(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    n_nodefer++;
    nd_self_blocked = blocked(sig);
}

static void H_plain(int sig)
{
    (void)sig;
    n_plain++;
}

static void H_sig(int sig)
{
    (void)sig;
    n_sig++;
}

static const char *hname(void *p)
{
    if (p == (void *)SIG_DFL)
        return "SIG_DFL";
    if (p == (void *)SIG_IGN)
        return "SIG_IGN";
    if (p == (void *)H_info)
        return "H_info";
    if (p == (void *)H_nodefer)
        return "H_nodefer";
    if (p == (void *)H_plain)
        return "H_plain";
    if (p == (void *)H_sig)
        return "H_sig";
    return "UNKNOWN-HANDLER";
}

static const char *flagstr(int f)
{
    static char b[160];
    b[0] = 0;
    f &= FLAGMASK;
    if (!f)
        return "0";
    struct { int v; const char *n; } t[] = {
        { SA_SIGINFO, "SIGINFO" }, { SA_RESTART, "RESTART" }, { SA_NODEFER, "NODEFER" },
        { SA_RESETHAND, "RESETHAND" }, { SA_ONSTACK, "ONSTACK" }, { SA_NOCLDSTOP, "NOCLDSTOP" },
        { SA_NOCLDWAIT, "NOCLDWAIT" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (f & t[i].v) {
            strcat(b, b[0] ? "|" : "");
            strcat(b, t[i].n);
            f &= ~t[i].v;
        }
    if (f)
        sprintf(b + strlen(b), "%s0x%x", b[0] ? "|" : "", (unsigned)f);
    return b;
}

static const char *maskstr(const sigset_t *m)
{
    static char b[400];
    b[0] = 0;
    for (int s = 1; s < 65; s++)
        if (s != 32 && s != 33 && sigismember(m, s) == 1)
            sprintf(b + strlen(b), "%s%d", b[0] ? "," : "", s);
    return b[0] ? b : "-";
}

static void *handler_of(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) ? (void *)sa->sa_sigaction : (void *)sa->sa_handler;
}

static void show(int sig, const char *what)
{
    struct sigaction q;
    memset(&q, 0xa5, sizeof q);
    int r = sigaction(sig, NULL, &q);
    printf("info %s: sigaction(%d, NULL, &old) = %d: handler=%s flags=%s mask=%s\n", what, sig, r,
           hname(handler_of(&q)), flagstr(q.sa_flags), maskstr(&q.sa_mask));
}

/* Query and compare with what the program set. */
static void expect(int sig, const char *what, void *h, int flags, const int *maskv, int nmask)
{
    struct sigaction q;
    memset(&q, 0xa5, sizeof q);
    int r = sigaction(sig, NULL, &q);
    void *got = handler_of(&q);
    CHECK(r == 0 && got == h, "%s: query returns handler %s (expected %s)", what, hname(got), hname(h));
    char fg[160], fw[160];
    snprintf(fg, sizeof fg, "%s", flagstr(q.sa_flags));
    snprintf(fw, sizeof fw, "%s", flagstr(flags));
    CHECK((q.sa_flags & FLAGMASK) == flags, "%s: query returns flags %s (expected %s)", what, fg, fw);
    if (maskv) {
        sigset_t want;
        sigemptyset(&want);
        for (int i = 0; i < nmask; i++)
            sigaddset(&want, maskv[i]);
        char w[400];
        snprintf(w, sizeof w, "%s", maskstr(&want));
        CHECK(!strcmp(w, maskstr(&q.sa_mask)), "%s: query returns sa_mask {%s} (expected {%s})", what,
              maskstr(&q.sa_mask), w);
    }
}

static void wait_for(volatile sig_atomic_t *c, int n)
{
    for (int i = 0; i < 2000 && *c < n; i++)
        sleep_ms(1);
}

static pid_t sender(int sig, int use_queue, int val, long after_ms)
{
    pid_t parent = getpid();
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        sleep_ms(after_ms);
        if (use_queue) {
            union sigval v = { .sival_int = val };
            sigqueue(parent, sig, v);
        } else {
            kill(parent, sig);
        }
        _exit(0);
    }
    return p;
}

static void reap(pid_t p)
{
    int st;
    while (waitpid(p, &st, 0) == -1 && errno == EINTR)
        ;
}

static int exec_child(void)
{
    /* After exec: handlers are reset to SIG_DFL, SIG_IGN is kept. */
    expect(SIGHUP, "after exec: SIGHUP ignored before exec", (void *)SIG_IGN, 0, NULL, 0);
    struct sigaction q;
    sigaction(SIGWINCH, NULL, &q);
    CHECK(handler_of(&q) == (void *)SIG_DFL, "after exec: SIGWINCH (had a handler) is SIG_DFL: %s",
          hname(handler_of(&q)));
    kill(getpid(), SIGHUP);
    CHECK(1, "after exec: survived SIGHUP (still ignored)");
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "exec-child"))
        return exec_child();

    struct sigaction sa, old;

    /* 0. What the program finds at start. */
    show(SIGWINCH, "at start SIGWINCH");
    show(SIGHUP, "at start SIGHUP");
    show(SIGUSR1, "at start SIGUSR1");
    show(SIGURG, "at start SIGURG");
    show(SIGRTMIN + 2, "at start SIGRTMIN+2");

    /* 1. SA_SIGINFO handler with a mask; the old action it replaces. */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = H_info;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaddset(&sa.sa_mask, SIGRTMIN + 3);
    memset(&old, 0xa5, sizeof old);
    CHECK(sigaction(SIGWINCH, &sa, &old) == 0, "sigaction(SIGWINCH, SA_SIGINFO H_info) succeeds");
    printf("info old action of SIGWINCH: handler=%s flags=%s\n", hname(handler_of(&old)), flagstr(old.sa_flags));
    int m1[] = { SIGUSR2, SIGRTMIN + 3 };
    expect(SIGWINCH, "SA_SIGINFO on SIGWINCH", (void *)H_info, SA_SIGINFO, m1, 2);
    memset(&old, 0xa5, sizeof old);
    sigaction(SIGWINCH, &sa, &old);
    CHECK(handler_of(&old) == (void *)H_info && (old.sa_flags & FLAGMASK) == SA_SIGINFO,
          "re-installing SIGWINCH returns the previous H_info/SIGINFO as old action (%s, %s)",
          hname(handler_of(&old)), flagstr(old.sa_flags));

    pid_t s = sender(SIGWINCH, 0, 0, 0);
    wait_for(&n_info, 1);
    reap(s);
    CHECK(n_info == 1, "SIGWINCH from another process ran H_info once (%d)", (int)n_info);
    CHECK(i_signo == SIGWINCH && i_si_signo == SIGWINCH, "handler got signo %d, si_signo %d (SIGWINCH)",
          (int)i_signo, (int)i_si_signo);
    CHECK(i_pid == s, "si_pid is the sender's pid");
    CHECK(i_code == SI_USER, "si_code is SI_USER (%d)", (int)i_code);
    CHECK(i_uc, "ucontext pointer is not NULL");
    CHECK(i_self_blocked == 1, "SIGWINCH is blocked inside its handler (no SA_NODEFER)");
    CHECK(i_usr2_blocked == 1, "SIGUSR2 (in sa_mask) is blocked inside the handler");
    CHECK(!blocked(SIGWINCH) && !blocked(SIGUSR2), "mask restored after the handler");

    union sigval v = { .sival_int = 4242 };
    CHECK(sigqueue(getpid(), SIGWINCH, v) == 0, "sigqueue(self, SIGWINCH, 4242)");
    wait_for(&n_info, 2);
    CHECK(n_info == 2 && i_code == SI_QUEUE && i_val == 4242 && i_pid == getpid(),
          "sigqueue: si_code SI_QUEUE, si_value 4242, si_pid self (code %d)", (int)i_code);

    /* 2. SA_SIGINFO|SA_NODEFER|SA_RESTART */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = H_nodefer;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGURG, &sa, NULL);
    expect(SIGURG, "SIGINFO|NODEFER|RESTART on SIGURG", (void *)H_nodefer, SA_SIGINFO | SA_NODEFER | SA_RESTART, NULL, 0);
    raise(SIGURG);
    CHECK(n_nodefer == 1 && nd_self_blocked == 0, "SA_NODEFER: SIGURG not blocked inside its handler");

    /* 3. Plain handler, no flags: no SA_SIGINFO, no SA_RESTART appear. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = H_plain;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    expect(SIGUSR2, "plain sa_handler, flags 0, on SIGUSR2", (void *)H_plain, 0, NULL, 0);
    raise(SIGUSR2);
    CHECK(n_plain == 1, "SIGUSR2 ran H_plain");

    /* 4. SA_RESETHAND: one delivery, then SIG_DFL. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = H_plain;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    expect(SIGUSR1, "SA_RESETHAND on SIGUSR1", (void *)H_plain, SA_RESETHAND, NULL, 0);
    raise(SIGUSR1);
    CHECK(n_plain == 2, "SIGUSR1 ran H_plain once");
    {
        struct sigaction q;
        sigaction(SIGUSR1, NULL, &q);
        CHECK(handler_of(&q) == (void *)SIG_DFL, "after one SIGUSR1 the SA_RESETHAND handler is SIG_DFL (%s)",
              hname(handler_of(&q)));
        CHECK(!(q.sa_flags & SA_SIGINFO), "after the reset, flags do not show SA_SIGINFO, which was never set (%s)",
              flagstr(q.sa_flags));
    }
    /* ...and the second one takes the default action (terminate). */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        n_plain = 0;
        sigaction(SIGUSR1, &sa, NULL);
        raise(SIGUSR1);
        if (n_plain != 1)
            _exit(11);
        raise(SIGUSR1);
        _exit(10);
    }
    int st = 0;
    waitpid(c, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1,
          "SA_RESETHAND: second SIGUSR1 kills the process (status 0x%x)", st);

    /* 5. SIG_IGN keeps working. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    expect(SIGHUP, "SIG_IGN on SIGHUP", (void *)SIG_IGN, 0, NULL, 0);
    kill(getpid(), SIGHUP);
    CHECK(1, "survived SIGHUP while SIG_IGN");
    CHECK(signal(SIGHUP, SIG_IGN) == SIG_IGN, "signal(SIGHUP, SIG_IGN) returns the previous SIG_IGN");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_IGN);
        kill(getpid(), SIGTERM);
        _exit(7);
    }
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "SIG_IGN'd SIGTERM does not kill (status 0x%x)", st);

    /* 6. signal(): BSD semantics in glibc. */
    CHECK(signal(SIGPROF, H_sig) == SIG_DFL, "signal(SIGPROF, H_sig) returns SIG_DFL");
    CHECK(signal(SIGPROF, H_sig) == H_sig, "signal(SIGPROF, H_sig) again returns H_sig");
    show(SIGPROF, "after signal(SIGPROF, H_sig)");
    {
        struct sigaction q;
        sigaction(SIGPROF, NULL, &q);
        CHECK(handler_of(&q) == (void *)H_sig && (q.sa_flags & SA_RESTART) && !(q.sa_flags & SA_SIGINFO),
              "sigaction sees signal()'s handler H_sig with SA_RESTART, without SA_SIGINFO (%s)", flagstr(q.sa_flags));
    }
    raise(SIGPROF);
    CHECK(n_sig == 1, "SIGPROF ran H_sig");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CHECK(siginterrupt(SIGPROF, 1) == 0, "siginterrupt(SIGPROF, 1)");
#pragma GCC diagnostic pop
    {
        struct sigaction q;
        sigaction(SIGPROF, NULL, &q);
        CHECK(handler_of(&q) == (void *)H_sig && !(q.sa_flags & SA_RESTART),
              "after siginterrupt(SIGPROF, 1): H_sig without SA_RESTART (%s)", flagstr(q.sa_flags));
    }
    CHECK(signal(SIGPROF, SIG_DFL) == H_sig, "signal(SIGPROF, SIG_DFL) returns H_sig");

    /* 7. sysv_signal: SA_RESETHAND|SA_NODEFER. */
    CHECK(sysv_signal(SIGPWR, H_sig) == SIG_DFL, "sysv_signal(SIGPWR, H_sig) returns SIG_DFL");
    show(SIGPWR, "after sysv_signal(SIGPWR)");
    raise(SIGPWR);
    CHECK(n_sig == 2, "SIGPWR ran H_sig");
    {
        struct sigaction q;
        sigaction(SIGPWR, NULL, &q);
        CHECK(handler_of(&q) == (void *)SIG_DFL, "sysv_signal handler reset to SIG_DFL after one delivery (%s)",
              hname(handler_of(&q)));
    }

    /* 8. Errors are the kernel's/libc's. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = H_plain;
    errno = 0;
    int r = sigaction(SIGKILL, &sa, NULL);
    CHECK(r == -1 && errno == EINVAL, "sigaction(SIGKILL, handler) fails EINVAL (%d, %s)", r, strerrorname_np(errno));
    errno = 0;
    r = sigaction(SIGSTOP, &sa, NULL);
    CHECK(r == -1 && errno == EINVAL, "sigaction(SIGSTOP, handler) fails EINVAL (%d, %s)", r, strerrorname_np(errno));
    errno = 0;
    r = sigaction(0, &sa, NULL);
    CHECK(r == -1 && errno == EINVAL, "sigaction(0, ...) fails EINVAL (%d, %s)", r, strerrorname_np(errno));
    errno = 0;
    r = sigaction(65, NULL, &old);
    CHECK(r == -1 && errno == EINVAL, "sigaction(65, NULL, &old) fails EINVAL (%d, %s)", r, strerrorname_np(errno));
    errno = 0;
    r = sigaction(SIGKILL, NULL, &old);
    CHECK(r == 0 && handler_of(&old) == (void *)SIG_DFL, "sigaction(SIGKILL, NULL, &old) = SIG_DFL (%d)", r);
    errno = 0;
    r = sigaction(SIGWINCH, NULL, NULL);
    CHECK(r == 0, "sigaction(SIGWINCH, NULL, NULL) = 0 (%d)", r);

    /* 9. A real-time signal with SA_SIGINFO and a value. */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = H_info;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    expect(SIGRTMIN + 2, "SA_SIGINFO on SIGRTMIN+2", (void *)H_info, SA_SIGINFO, NULL, 0);
    int before = n_info;
    s = sender(SIGRTMIN + 2, 1, 99, 0);
    wait_for(&n_info, before + 1);
    reap(s);
    CHECK(n_info == before + 1 && i_signo == SIGRTMIN + 2 && i_si_signo == SIGRTMIN + 2 && i_pid == s &&
              i_code == SI_QUEUE && i_val == 99,
          "SIGRTMIN+2 from another process: signo, si_pid, SI_QUEUE, value 99");

    /* 10. siginfo while blocked in a TCP recv (the call the library resumes):
     * the program loops on EINTR itself so the output does not depend on the
     * library. */
    {
        int rfd, wfd;
        if (make_pair("tcp4", &rfd, &wfd, NULL))
            return 1;
        pid_t w = writer_start(wfd, rfd, 500, 1, 0, 10);
        close(wfd);
        before = n_info;
        s = sender(SIGWINCH, 1, 777, 150);
        char b[16];
        ssize_t n;
        int eintrs = 0;
        while ((n = recv(rfd, b, 10, MSG_WAITALL)) < 0 && errno == EINTR && eintrs < 100)
            eintrs++;
        reap(s);
        CHECK(n == 10, "recv got its 10 bytes (%zd)", n);
        CHECK(n_info == before + 1 && i_signo == SIGWINCH && i_si_signo == SIGWINCH && i_pid == s &&
                  i_code == SI_QUEUE && i_val == 777 && i_uc,
              "SIGWINCH during a blocked TCP recv: handler got signo, si_pid of sender, SI_QUEUE, value 777");
        CHECK(i_self_blocked == 1 && i_usr2_blocked == 1, "SIGWINCH and sa_mask's SIGUSR2 blocked in that handler");
        close(rfd);
        stop_child(w);
    }

    /* 11. Dispositions across exec. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
        _exit(127);
    }
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec'd child's checks passed (status 0x%x)", st);

    printf("%s: %d failed checks\n", fails ? "FAILED" : "PASSED", fails);
    return fails ? 1 : 0;
}
