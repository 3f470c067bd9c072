// hard_vfork_signals: a child made with vfork() shares the parent's memory
// until it execs; what it does to its own signal dispositions before exec
// (as CPython's subprocess does: every handled signal back to SIG_DFL) must
// not change the parent's. Used by c-tests/hard/t_hard_vfork_signals.sh.
//
//   hard_vfork_signals CASE
//
//   vfork-signal      the vfork child calls signal(SIGHUP, SIG_DFL), then execs
//   vfork-sigaction   ... sigaction(SIGHUP, {SIG_DFL}), then execs
//   vfork-ignore      ... sigaction(SIGHUP, {SIG_IGN}), then _exit(0)
//   vfork-handler     ... sigaction(SIGHUP, {another handler}), then _exit(0)
//   vfork-all         ... every catchable signal the parent handles, back to
//                     SIG_DFL after asking sigaction() (CPython's
//                     reset_signal_handlers), then execs
//   fork-signal       a fork() child does the same as vfork-signal (its own
//                     copy: the parent must keep its handler too)
//   spawn-setsigdef   posix_spawn with POSIX_SPAWN_SETSIGDEF {SIGHUP}
//
// The parent installs handlers for SIGHUP (plain) and SIGUSR1 (SA_SIGINFO),
// runs the case, waits for the child, then raises SIGHUP and SIGUSR1 and asks
// sigaction() what its handlers are. Prints
//   CASE: hup_runs=N usr1_runs=N hup_query=handler|SIG_DFL|SIG_IGN|other usr1_query=...
// and exits 0 when both handlers ran once and are still reported, 1 if not
// (2 on a setup error). A signal whose handler was lost would kill it or be
// dropped: either way the test sees it.
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t hup_runs, usr1_runs;
static void on_hup(int s) { (void)s; hup_runs++; }
static void on_usr1(int s, siginfo_t *si, void *uc) { (void)s, (void)si, (void)uc; usr1_runs++; }
static void other(int s) { (void)s; }

static const char *query(int sig, void *mine) {
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) < 0) return "error";
    void *h = (cur.sa_flags & SA_SIGINFO) ? (void *)cur.sa_sigaction : (void *)cur.sa_handler;
    if (h == mine) return "handler";
    if (cur.sa_handler == SIG_DFL) return "SIG_DFL";
    if (cur.sa_handler == SIG_IGN) return "SIG_IGN";
    return "other";
}

static void to_default(int sig) {
    struct sigaction d;
    memset(&d, 0, sizeof d);
    d.sa_handler = SIG_DFL;
    sigemptyset(&d.sa_mask);
    sigaction(sig, &d, NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: hard_vfork_signals CASE\n");
        return 2;
    }
    const char *c = argv[1];
    alarm(10);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGHUP, &sa, NULL) < 0) return 2;
    struct sigaction su;
    memset(&su, 0, sizeof su);
    su.sa_sigaction = on_usr1;
    su.sa_flags = SA_SIGINFO;
    sigemptyset(&su.sa_mask);
    if (sigaction(SIGUSR1, &su, NULL) < 0) return 2;

    pid_t pid = -1;
    if (!strncmp(c, "vfork-", 6)) {
        pid = vfork();
        if (pid == 0) {
            if (!strcmp(c, "vfork-signal")) signal(SIGHUP, SIG_DFL);
            else if (!strcmp(c, "vfork-sigaction")) to_default(SIGHUP);
            else if (!strcmp(c, "vfork-ignore")) {
                struct sigaction i;
                memset(&i, 0, sizeof i);
                i.sa_handler = SIG_IGN;
                sigaction(SIGHUP, &i, NULL);
                _exit(0);
            } else if (!strcmp(c, "vfork-handler")) {
                struct sigaction o;
                memset(&o, 0, sizeof o);
                o.sa_handler = other;
                sigaction(SIGHUP, &o, NULL);
                _exit(0);
            } else if (!strcmp(c, "vfork-all")) {
                for (int s = 1; s < NSIG; s++) {
                    if (s == SIGKILL || s == SIGSTOP) continue;
                    struct sigaction cur;
                    if (sigaction(s, NULL, &cur) < 0) continue;
                    if (cur.sa_handler == SIG_IGN || cur.sa_handler == SIG_DFL) continue;
                    to_default(s);
                }
            }
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
    } else if (!strcmp(c, "fork-signal")) {
        pid = fork();
        if (pid == 0) {
            signal(SIGHUP, SIG_DFL);
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
    } else if (!strcmp(c, "spawn-setsigdef")) {
        posix_spawnattr_t at;
        posix_spawnattr_init(&at);
        sigset_t def;
        sigemptyset(&def);
        sigaddset(&def, SIGHUP);
        sigaddset(&def, SIGUSR1);
        posix_spawnattr_setsigdefault(&at, &def);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
        char *av[] = {"true", NULL};
        if (posix_spawn(&pid, "/bin/true", NULL, &at, av, NULL) != 0) return 2;
    } else {
        fprintf(stderr, "unknown case %s\n", c);
        return 2;
    }
    if (pid < 0) return 2;
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("%s: child failed (status %d)\n", c, st);
        return 2;
    }
    raise(SIGHUP);
    raise(SIGUSR1);
    const char *hq = query(SIGHUP, (void *)on_hup), *uq = query(SIGUSR1, (void *)on_usr1);
    printf("%s: hup_runs=%d usr1_runs=%d hup_query=%s usr1_query=%s\n", c, (int)hup_runs, (int)usr1_runs, hq, uq);
    return hup_runs == 1 && usr1_runs == 1 && !strcmp(hq, "handler") && !strcmp(uq, "handler") ? 0 : 1;
}
