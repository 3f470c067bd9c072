// live_spawn: vfork and posix_spawn children that rearrange their copies of
// the fds must not disturb what the library knows about the parent's TCP
// socket (a vfork child shares the parent's memory: any table the library
// updates from the child is the parent's table). Used by
// c-tests/live/t_live_spawn.sh.
//
//   live_spawn [--expect-clean]
//
// The parent holds a connected loopback TCP socket S (to a server in a forked
// process). Then:
//   vfork A   close(S); dup2(pipe, S); close(pipe end); exec /bin/true
//   vfork B   close fds 3..1023; socket(AF_INET, SOCK_DGRAM) until one lands on
//             S's number; socketpair(AF_UNIX); exec /bin/true
//   vfork C   close(S); socket(AF_INET6 or AF_INET, SOCK_STREAM) lands on S;
//             exec /bin/true
//   spawn D   posix_spawn(/bin/true) with addclose(S), adddup2(pipe, S),
//             addclose(pipe end)
//   spawn E   posix_spawnp("true") with addclosefrom_np(3) (glibc >= 2.34)
// every child must exit 0. Then a process sends SIGWINCH (handler without
// SA_RESTART) to the parent every 20 ms while the parent asks the server three
// times for an answer that comes after 500 ms, reading it with read(), recv()
// and poll()+read(). Output lines:
//   opts_before ... / opts_after ...   (socket options of S)
//   child NAME exit=N
//   round MODE ok elapsed_ms=N signals=N | round MODE EINTR after N ms ...
// Exit 0 when every child exited 0 and every round got its whole answer (with
// --expect-clean: without any EINTR); 1 otherwise; 2 on a setup error.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "live_util.h"

extern char **environ;

#define ANSWER 3000
static void server(int lfd) {
    char ans[ANSWER];
    for (int i = 0; i < ANSWER; i++) ans[i] = (char)('A' + i % 23);
    live_answer_server(lfd, ans, sizeof ans, 500);
}

static int wait_child(const char *name, pid_t p) {
    int st;
    while (waitpid(p, &st, 0) < 0) {
        if (errno != EINTR) {
            printf("child %s waitpid: %s\n", name, live_errname(errno));
            return 1;
        }
    }
    if (WIFEXITED(st)) {
        printf("child %s exit=%d\n", name, WEXITSTATUS(st));
        return WEXITSTATUS(st) != 0;
    }
    printf("child %s killed by SIG%s\n", name, sigabbrev_np(WTERMSIG(st)));
    return 1;
}

static char *const true_argv[] = { "true", NULL };

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int expect_clean = argc > 1 && !strcmp(argv[1], "--expect-clean");
    alarm(30);

    int port;
    pid_t srv = live_fork_server(server, &port);

    int s = live_connect("127.0.0.1", port);
    if (s < 0) live_die("connect");
    char opts[256];
    printf("opts_before %s\n", live_opts(s, opts, sizeof opts));
    int pfd[2];
    if (pipe(pfd) < 0) live_die("pipe");

    int bad = 0;
    pid_t p;

    // vfork A: close + dup2 a pipe onto S's number.
    p = vfork();
    if (p == 0) {
        close(s);
        dup2(pfd[0], s);
        close(pfd[1]);
        execv("/bin/true", true_argv);
        _exit(127);
    }
    if (p < 0) live_die("vfork");
    bad += wait_child("vfork_A_dup2_pipe", p);

    // vfork B: close everything, then a UDP socket on S's number.
    p = vfork();
    if (p == 0) {
        for (int fd = 3; fd < 1024; fd++) close(fd);
        int u = -1;
        for (int i = 0; i < 1024 && u < s; i++) {
            u = socket(AF_INET, SOCK_DGRAM, 0);
            if (u < 0) _exit(126);
        }
        if (u != s) _exit(125);
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) _exit(124);
        execv("/bin/true", true_argv);
        _exit(127);
    }
    if (p < 0) live_die("vfork");
    bad += wait_child("vfork_B_udp_on_fd", p);

    // vfork C: a fresh, unconnected TCP socket on S's number.
    p = vfork();
    if (p == 0) {
        close(s);
        int t = socket(AF_INET, SOCK_STREAM, 0);
        if (t != s) _exit(125);
        execv("/bin/true", true_argv);
        _exit(127);
    }
    if (p < 0) live_die("vfork");
    bad += wait_child("vfork_C_tcp_on_fd", p);

    // posix_spawn D: file actions close S and dup2 the pipe onto it.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, s);
    posix_spawn_file_actions_adddup2(&fa, pfd[0], s);
    posix_spawn_file_actions_addclose(&fa, pfd[1]);
    int rc = posix_spawn(&p, "/bin/true", &fa, NULL, true_argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        errno = rc;
        live_die("posix_spawn");
    }
    bad += wait_child("spawn_D_dup2", p);

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    rc = posix_spawnp(&p, "true", &fa, NULL, true_argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        errno = rc;
        live_die("posix_spawnp");
    }
    bad += wait_child("spawn_E_closefrom", p);
#endif
    close(pfd[0]);
    close(pfd[1]);
    printf("opts_after %s\n", live_opts(s, opts, sizeof opts));

    // The signal storm, then three slow answers.
    pid_t storm = live_winch_storm(20000, -1);

    static const char *modes[] = { "read", "recv", "poll+read" };
    for (int m = 0; m < 3; m++) {
        if (live_write_all(s, "g", 1) < 0) live_die("write");
        long t0 = live_now_ms(), s0 = live_winches();
        char buf[ANSWER];
        size_t have = 0;
        const char *fail = NULL;
        int e = 0;
        while (have < ANSWER && !fail) {
            ssize_t r;
            if (m == 2) {
                struct pollfd pf = { .fd = s, .events = POLLIN };
                if (poll(&pf, 1, 5000) < 0) {
                    e = errno;
                    fail = "poll";
                    break;
                }
            }
            if (m == 1) r = recv(s, buf + have, ANSWER - have, 0);
            else r = read(s, buf + have, ANSWER - have);
            if (r < 0) {
                e = errno;
                fail = m == 1 ? "recv" : "read";
            } else if (r == 0) {
                fail = "eof";
            } else {
                have += (size_t)r;
            }
        }
        long el = live_now_ms() - t0, ns = live_winches() - s0;
        if (fail) {
            printf("round %s %s from %s after %ld ms (%zu/%d bytes, %ld signals)\n", modes[m],
                   fail[0] == 'e' ? "EOF" : live_errname(e), fail, el, have, ANSWER, ns);
            bad++;
            if (e == EINTR && !expect_clean) {
                bad--; // expected without the library; the answer is drained below
                live_sleep_ms(600);
                char drain[ANSWER];
                size_t left = ANSWER - have;
                while (left) {
                    ssize_t r = recv(s, drain, left, MSG_DONTWAIT);
                    if (r <= 0) break;
                    left -= (size_t)r;
                }
            }
            continue;
        }
        int okdata = 1;
        for (int i = 0; i < ANSWER; i++)
            if (buf[i] != (char)('A' + i % 23)) okdata = 0;
        printf("round %s %s elapsed_ms=%ld signals=%ld\n", modes[m], okdata ? "ok" : "CORRUPT", el, ns);
        if (!okdata) bad++;
    }
    kill(storm, SIGKILL);
    while (waitpid(storm, NULL, 0) < 0 && errno == EINTR) {}
    close(s);
    int st;
    while (waitpid(srv, &st, 0) < 0 && errno == EINTR) {}
    return bad ? 1 : 0;
}
