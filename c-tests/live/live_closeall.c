// live_closeall: a program that closes every fd at start (as daemons and
// sshd-like programs do), then opens its own file and sockets. Used by
// c-tests/live/t_live_closeall.sh.
//
//   live_closeall METHOD OWNFILE [--expect-clean]
//
// METHOD: loop        close(fd) for fd in 3..1023
//         closefrom   closefrom(3)
//         close_range close_range(3, ~0U, 0)        (glibc wrapper)
//         syscall     syscall(SYS_close_range, 3, ~0U, 0)
// Before closing, it opens a loopback TCP connection (both ends and the
// listener stay open, like inherited fds); they are closed behind the
// library's back by METHOD. Then it opens OWNFILE (it takes the lowest free fd, likely one the library
// had for itself, a log file say) and writes "own-1\n"; connects to a
// loopback server (a forked process that answers 400 ms after each request),
// prints the socket options, writes "own-2\n"; and under a SIGWINCH storm
// (every 20 ms; handler without SA_RESTART) reads the answer: the read must be
// resumed. A read on an empty pipe during the same storm must still fail with
// EINTR (a pipe is not a TCP socket, even on the number where the old TCP
// client socket was). Last it checks OWNFILE holds exactly
// "own-1\nown-2\n" (nothing else wrote into the program's fd).
// Output: method=... / opts ... / tcp_read ... / pipe_read ... / ownfile ...
// Exit 0 when all is as expected (the TCP read may see EINTR only without
// --expect-clean), 1 otherwise, 2 on a setup error.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "live_util.h"

#define ANSWER 2000
static void server(int lfd) {
    char ans[ANSWER];
    memset(ans, 'z', sizeof ans);
    live_answer_server(lfd, ans, sizeof ans, 400);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: live_closeall loop|closefrom|close_range|syscall OWNFILE [--expect-clean]\n");
        return 2;
    }
    const char *method = argv[1], *own = argv[2];
    int expect_clean = argc > 3 && !strcmp(argv[3], "--expect-clean");

    // Before: a loopback TCP connection the library has seen (both ends and
    // the listener), left open, as an inherited fd would be.
    int pre_port;
    int pre_l = live_listen("127.0.0.1", 0, &pre_port);
    int pre_c = live_connect("127.0.0.1", pre_port);
    if (pre_c < 0) live_die("pre connect");
    int pre_a = accept(pre_l, NULL, NULL);
    if (pre_a < 0) live_die("pre accept");

    // Then: close everything but stdin, stdout, stderr.
    int r = 0;
    if (!strcmp(method, "loop")) {
        for (int fd = 3; fd < 1024; fd++) close(fd);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    } else if (!strcmp(method, "closefrom")) {
        closefrom(3);
    } else if (!strcmp(method, "close_range")) {
        r = close_range(3, ~0U, 0);
#else
    } else if (!strcmp(method, "closefrom") || !strcmp(method, "close_range")) {
        errno = ENOSYS; // no such libc function before glibc 2.34
        r = -1;
#endif
    } else if (!strcmp(method, "syscall")) {
        r = (int)syscall(SYS_close_range, 3, ~0U, 0);
    } else {
        fprintf(stderr, "live_closeall: unknown method %s\n", method);
        return 2;
    }
    if (r < 0) {
        if (errno == ENOSYS) {
            printf("method=%s unsupported (ENOSYS)\n", method);
            return 77;
        }
        live_die("%s", method);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(30);

    int ofd = open(own, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ofd < 0) live_die("open %s", own);
    printf("method=%s ownfile_fd=%d old_tcp_fds=%d,%d,%d\n", method, ofd, pre_l, pre_c, pre_a);
    if (write(ofd, "own-1\n", 6) != 6) live_die("write own");

    // A pipe whose read end takes the number the old TCP client socket had:
    // fill the lower free numbers with /dev/null first.
    for (int i = 0; i < 64; i++) {
        int f = fcntl(0, F_DUPFD, 0); // the lowest free number
        if (f < 0) live_die("F_DUPFD");
        close(f);
        if (f >= pre_c) break;
        if (open("/dev/null", O_RDONLY) < 0) live_die("/dev/null");
    }
    int pfd[2];
    if (pipe(pfd) < 0) live_die("pipe");
    printf("pipe_fds=%d,%d\n", pfd[0], pfd[1]);

    int port;
    pid_t srv = live_fork_server(server, &port);

    int s = live_connect("127.0.0.1", port);
    if (s < 0) live_die("connect");
    char opts[256];
    printf("opts %s (fd %d)\n", live_opts(s, opts, sizeof opts), s);
    if (write(ofd, "own-2\n", 6) != 6) live_die("write own");


    pid_t storm = live_winch_storm(3000, pfd[1]);

    int bad = 0;
    if (live_write_all(s, "g", 1) < 0) live_die("write");
    long t0 = live_now_ms(), s0 = live_winches();
    char buf[ANSWER];
    size_t have = 0;
    int e = 0;
    while (have < ANSWER) {
        ssize_t n = read(s, buf + have, ANSWER - have);
        if (n <= 0) {
            e = n < 0 ? errno : 0;
            break;
        }
        have += (size_t)n;
    }
    long el = live_now_ms() - t0;
    if (have == ANSWER) {
        printf("tcp_read ok elapsed_ms=%ld signals=%ld\n", el, live_winches() - s0);
    } else {
        printf("tcp_read %s after %ld ms (%zu/%d bytes)\n", e ? live_errname(e) : "EOF", el, have, ANSWER);
        if (expect_clean || e != EINTR) bad++;
        live_sleep_ms(500); // let the answer arrive; it is not read again
    }

    t0 = live_now_ms();
    char c;
    ssize_t n = read(pfd[0], &c, 1);
    e = errno;
    el = live_now_ms() - t0;
    if (n < 0 && e == EINTR) {
        printf("pipe_read EINTR after %ld ms (as it must)\n", el);
    } else {
        printf("pipe_read %s after %ld ms: a pipe read was resumed, it must see EINTR\n",
               n < 0 ? live_errname(e) : "data", el);
        bad++;
    }

    kill(storm, SIGKILL);
    while (waitpid(storm, NULL, 0) < 0 && errno == EINTR) {}
    close(s);
    while (waitpid(srv, NULL, 0) < 0 && errno == EINTR) {}

    close(ofd);
    ofd = open(own, O_RDONLY | O_CLOEXEC);
    if (ofd < 0) live_die("reopen %s", own);
    char got[512];
    ssize_t gl = read(ofd, got, sizeof got - 1);
    close(ofd);
    got[gl < 0 ? 0 : gl] = 0;
    if (!strcmp(got, "own-1\nown-2\n")) {
        printf("ownfile ok\n");
    } else {
        printf("ownfile CORRUPT: %zd bytes, want 12: \"", gl);
        for (ssize_t i = 0; i < gl && i < 200; i++)
            putchar(got[i] == '\n' ? '|' : (got[i] >= 32 && got[i] < 127) ? got[i] : '?');
        printf("\"\n");
        bad++;
    }
    return bad ? 1 : 0;
}
