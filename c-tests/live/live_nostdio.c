// live_nostdio: a daemon that closed stdin, stdout and stderr (and every
// other fd) at start, so that its TCP sockets land on fds 0, 1 and 2. A
// library logging "to stderr" must not write into fd 2 once the program has
// closed it and reused the number: the bytes would go into the program's TCP
// connection (or, on a socket not yet connected, raise SIGPIPE and kill it).
// Used by c-tests/live/t_live_nostdio.sh.
//
//   live_nostdio RESULTFILE A|B|C
//
// A  close every fd; a listener (fd 0), /dev/null (fd 1), a client
//    connection (fd 2: the connecting socket itself) and its accepted end
//    (fd 3); a message each way.
// B  close every fd; a listener (fd 0), a client (fd 1) and its accepted end
//    (fd 2), a second client (fd 3) and its accepted end (fd 4): a connecting
//    and an accepted socket on the old stdio numbers. Messages both ways;
//    one read on fd 2 is interrupted by a SIGWINCH (handler without
//    SA_RESTART; the answer comes 300 ms later from a thread), so a library
//    may log that it resumed it; finally nothing more may be waiting on any
//    of the four sockets.
// C  as B but fds 0-2 stay, and stderr becomes a pipe whose reader is gone
//    (as in "prog 2>&1 | head -1" once head has exited): a program that never
//    writes to stderr must not die of SIGPIPE because a library wrote there.
// Every byte must arrive exactly as sent. SIGPIPE keeps its default action,
// as in most programs. The report goes to RESULTFILE (stdout may be gone).
// Exit 0 when all is exact, 1 otherwise, 2 on a setup error; death by
// SIGPIPE shows as 141 in the shell.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include "live_util.h"

static FILE *out;
static int rfd;
static int bad;

static void on_winch(int sig) { (void)sig; }

// Read exactly n bytes within 3 s (poll + read), or report what came.
static void expect(int fd, const char *want, const char *what) {
    size_t n = strlen(want), have = 0;
    char buf[512];
    long end = live_now_ms() + 3000;
    int e = 0;
    while (have < n && have < sizeof buf - 1) {
        long left = end - live_now_ms();
        if (left <= 0) break;
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int pr = poll(&pf, 1, (int)left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        ssize_t r = read(fd, buf + have, n - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            e = r < 0 ? errno : 0;
            break;
        }
        have += (size_t)r;
    }
    // Anything more than expected (a log line, say) waiting behind it?
    ssize_t extra = recv(fd, buf + have, sizeof buf - 1 - have, MSG_DONTWAIT);
    if (extra > 0) have += (size_t)extra;
    buf[have] = 0;
    if (have == n && !memcmp(buf, want, n)) {
        fprintf(out, "%s: ok (fd %d got \"%s\")\n", what, fd, want);
        return;
    }
    bad++;
    fprintf(out, "%s: FAIL: fd %d got %zu bytes, want %zu \"%s\"%s%s: \"", what, fd, have, n, want,
            e ? ", error " : "", e ? live_errname(e) : "");
    for (size_t i = 0; i < have && i < 300; i++)
        fputc(buf[i] == '\n' ? '|' : (buf[i] >= 32 && buf[i] < 127) ? buf[i] : '?', out);
    fprintf(out, "\"\n");
}

static void say(int fd, const char *msg) {
    if (live_write_all(fd, msg, strlen(msg)) < 0) {
        bad++;
        fprintf(out, "write on fd %d: FAIL: %s\n", fd, live_errname(errno));
    }
}

struct late { int fd; pthread_t target; };
static void *late_answer(void *arg) {
    struct late *l = arg;
    live_sleep_ms(100);
    pthread_kill(l->target, SIGWINCH);
    live_sleep_ms(200);
    say(l->fd, "late-answer");
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[2], "A") && strcmp(argv[2], "B") && strcmp(argv[2], "C"))) {
        fprintf(stderr, "usage: live_nostdio RESULTFILE A|B|C\n");
        return 2;
    }
    const char *result = argv[1];
    int phase_a = !strcmp(argv[2], "A");
    alarm(30);
    if (!strcmp(argv[2], "C")) {
        int pp[2];
        if (pipe(pp) < 0 || dup2(pp[1], 2) < 0) return 2;
        close(pp[0]); // nobody reads stderr any more
        close(pp[1]);
        for (int fd = 3; fd < 1024; fd++) close(fd);
    } else {
        for (int fd = 0; fd < 1024; fd++) close(fd);
    }

    int port;
    int l = live_listen("127.0.0.1", 0, &port);           // fd 0
    if (!phase_a) goto phase_b;
    // Phase A: the connecting socket itself is fd 2.
    int nul = open("/dev/null", O_RDONLY);                // fd 1
    int c0 = live_connect("127.0.0.1", port);             // fd 2
    int e0 = errno;
    int a0 = accept(l, NULL, NULL);                       // fd 3
    rfd = open(result, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (rfd < 0) return 2;
    out = fdopen(rfd, "w");
    if (!out) return 2;
    setvbuf(out, NULL, _IOLBF, 0);
    fprintf(out, "phase A fds: listener=%d /dev/null=%d client0=%d accepted0=%d\n", l, nul, c0, a0);
    if (c0 < 0 || a0 < 0) {
        fprintf(out, "setup: FAIL: connect/accept: %s\n", live_errname(c0 < 0 ? e0 : errno));
        return 2;
    }
    say(c0, "hello-from-client-0");
    expect(a0, "hello-from-client-0", "client0 -> server");
    say(a0, "hello-from-server-0");
    expect(c0, "hello-from-server-0", "server -> client0");
    fprintf(out, "%s\n", bad ? "FAILED" : "all exact");
    return bad ? 1 : 0;

phase_b:;
    // Phase B: a connecting socket at fd 1, its accepted end at fd 2.
    int c1 = live_connect("127.0.0.1", port);             // fd 1
    int a1 = accept(l, NULL, NULL);                       // fd 2
    int c2 = live_connect("127.0.0.1", port);             // fd 3
    int a2 = accept(l, NULL, NULL);                       // fd 4
    rfd = open(result, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (rfd < 0) return 2;
    out = fdopen(rfd, "w");
    if (!out) return 2;
    setvbuf(out, NULL, _IOLBF, 0);
    fprintf(out, "phase %s fds: listener=%d client1=%d accepted1=%d client2=%d accepted2=%d\n", argv[2], l, c1, a1, c2, a2);
    if (c1 < 0 || a1 < 0 || c2 < 0 || a2 < 0) {
        fprintf(out, "setup: FAIL: connect/accept: %s\n", live_errname(errno));
        return 2;
    }

    say(c1, "hello-from-client-1");
    expect(a1, "hello-from-client-1", "client1 -> server");
    say(a1, "hello-from-server-1");
    expect(c1, "hello-from-server-1", "server -> client1");
    say(c2, "hello-from-client-2");
    expect(a2, "hello-from-client-2", "client2 -> server");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL);
    // A blocking read on the accepted socket at fd 2, interrupted by a signal
    // (the library may log that it resumed it), the answer 300 ms later.
    struct late lt = { .fd = c1, .target = pthread_self() };
    pthread_t th;
    if (pthread_create(&th, NULL, late_answer, &lt)) return 2;
    char buf[64];
    size_t have = 0;
    while (have < 11) {
        ssize_t r = read(a1, buf + have, 11 - have);
        if (r < 0 && errno == EINTR) {
            fprintf(out, "blocking read on fd %d: EINTR (no library, or not resumed)\n", a1);
            continue;
        }
        if (r <= 0) break;
        have += (size_t)r;
    }
    pthread_join(th, NULL);
    buf[have] = 0;
    if (strcmp(buf, "late-answer")) {
        bad++;
        fprintf(out, "late answer on fd %d: FAIL: got \"%s\"\n", a1, buf);
    } else {
        fprintf(out, "late answer on fd %d: ok\n", a1);
    }
    // And nothing else arrived on any of them.
    expect(a1, "", "nothing more on accepted1");
    expect(c1, "", "nothing more on client1");
    expect(a2, "", "nothing more on accepted2");
    expect(c2, "", "nothing more on client2");
    fprintf(out, "%s\n", bad ? "FAILED" : "all exact");
    return bad ? 1 : 0;
}
