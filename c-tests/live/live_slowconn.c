// live_slowconn: a blocking connect() that has to wait (the listener's accept
// queue is full, so the first SYN is dropped and retransmitted after 1 s)
// while SIGWINCH arrives every 20 ms (handler without SA_RESTART). With
// SA_RESTART the kernel restarts such a connect; sockfix must do the same:
// the application must see connect() return 0, not EINTR. Used by
// c-tests/live/t_live_slowconn.sh; it makes the connect() EINTR that
// t_live_storm.sh only sees now and then happen every time.
//
//   live_slowconn            the queue frees after 300 ms: connect must return 0
//                            (after the SYN retransmit, ~1 s)
//   live_slowconn sndtimeo   the queue never frees and the socket has
//                            SO_SNDTIMEO 400 ms: whatever connect returns, it
//                            must return by about then (a resumed wait must not
//                            outlast the caller's timeout)
//
// Output: "connect ok elapsed_ms=N signals=N" + "opts ..." or
// "connect ERRNAME after N ms (signals=N)". Exit 0 on ok, 3 on EINTR, 4 on
// any other error, 1 on a connect that succeeded but is not connected, 2 on
// a setup error.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "live_util.h"

static int lfd;
static void *acceptor(void *arg) {
    (void)arg;
    live_sleep_ms(300); // the client's first SYN has been dropped by then
    for (int i = 0; i < 2; i++) {
        int a;
        while ((a = accept(lfd, NULL, NULL)) < 0 && errno == EINTR) {}
        if (a < 0) break;
        // kept open until exit
    }
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int sndtimeo = argc > 1 && !strcmp(argv[1], "sndtimeo");
    alarm(30);
    int port;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 0) < 0) live_die("listen");
    socklen_t sl = sizeof sin;
    if (getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) live_die("getsockname");
    port = ntohs(sin.sin_port);
    int c0 = live_connect("127.0.0.1", port); // fills the accept queue (backlog 0)
    if (c0 < 0) live_die("first connect");

    pid_t storm = live_winch_storm(5000, -1);
    pthread_t at;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &block, &old); // the signals are for the main thread
    if (!sndtimeo && pthread_create(&at, NULL, acceptor, NULL)) live_die("pthread_create");
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) live_die("socket");
    if (sndtimeo) {
        struct timeval tv = { 0, 400000 };
        if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) live_die("SO_SNDTIMEO");
    }
    long t0 = live_now_ms(), s0 = live_winches();
    int r = connect(s, (struct sockaddr *)&sin, sizeof sin);
    int e = errno;
    long el = live_now_ms() - t0, ns = live_winches() - s0;
    kill(storm, SIGKILL);
    while (waitpid(storm, NULL, 0) < 0 && errno == EINTR) {}
    if (r == 0) {
        char opts[256];
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int connected = getpeername(s, (struct sockaddr *)&peer, &pl) == 0;
        printf("connect ok elapsed_ms=%ld signals=%ld peer=%s\n", el, ns, connected ? "yes" : "NO");
        printf("opts %s\n", live_opts(s, opts, sizeof opts));
        return connected ? 0 : 1;
    }
    printf("connect %s after %ld ms (signals=%ld)\n", live_errname(e), el, ns);
    return e == EINTR ? 3 : 4;
}
