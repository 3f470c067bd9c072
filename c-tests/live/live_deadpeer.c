// live_deadpeer: the two halves of the failover story (a database server vanishes
// without a RST while its client waits for an answer). Used by
// c-tests/live/t_live_deadpeer.sh.
//
//   live_deadpeer server NETNS ADDR PORT
//       Enter the network namespace /run/netns/NETNS (or stay: NETNS "-"),
//       listen on ADDR:PORT, print "listening" on stdout, then accept any
//       number of connections, read what they send and never answer. Exits
//       by itself after 60 s.
//
//   live_deadpeer client NETNS ADDR PORT READYFILE GOFILE MODE
//       Enter NETNS, connect to ADDR:PORT, print the socket options
//       ("opts keepalive=.. idle=.. intvl=.. cnt=.. user_timeout=.."), send a
//       request, wait until the peer has acknowledged it (TCP_INFO unacked=0),
//       create READYFILE, then wait for GOFILE to exist (the test drops the
//       traffic in between). Then, MODE
//         read   block in read() for the answer that never comes;
//         write  write a second request into the (now dead) connection, then
//                block in read().
//       When the read (or write) fails it prints
//         result=ERRNAME elapsed_ms=N      (N counted from seeing GOFILE)
//       or result=data / result=eof. Exit 0 after printing a result; the test
//       kills the client when it never returns. A safety alarm ends it after
//       40 s.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include "live_util.h"

static int server(const char *addr, int port) {
    int lfd = live_listen(addr, port, NULL);
    printf("listening\n");
    fflush(stdout);
    struct pollfd pf[65];
    int n = 1;
    pf[0].fd = lfd;
    pf[0].events = POLLIN;
    long end = live_now_ms() + 60000;
    while (live_now_ms() < end) {
        int r = poll(pf, n, 500);
        if (r < 0 && errno != EINTR) live_die("poll");
        if (r <= 0) continue;
        if ((pf[0].revents & POLLIN) && n < 65) {
            int c = accept(lfd, NULL, NULL);
            if (c >= 0) {
                pf[n].fd = c;
                pf[n].events = POLLIN;
                pf[n].revents = 0;
                n++;
            }
        }
        for (int i = 1; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t got = read(pf[i].fd, buf, sizeof buf);
            if (got <= 0) pf[i].events = 0; // gone: keep the fd, never answer
        }
    }
    return 0;
}

static int client(const char *addr, int port, const char *ready, const char *go, const char *mode) {
    int wr = !strcmp(mode, "write");
    if (!wr && strcmp(mode, "read")) {
        fprintf(stderr, "live_deadpeer: MODE must be read or write\n");
        return 2;
    }
    alarm(40);
    int fd = live_connect(addr, port);
    if (fd < 0) live_die("connect %s:%d", addr, port);
    char opts[256];
    printf("opts %s\n", live_opts(fd, opts, sizeof opts));
    fflush(stdout);

    // Nothing in flight when the traffic is dropped: only keepalive (or a
    // later write) can notice.
    if (live_send_acked(fd, "SELECT sleep(3600);\n") < 0 || live_handshake(ready, go) < 0) return 2;
    long t0 = live_now_ms();
    if (wr) {
        static const char req2[] = "SELECT 1;\n";
        if (live_write_all(fd, req2, sizeof req2 - 1) < 0) {
            int e = errno;
            printf("result=%s elapsed_ms=%ld op=write\n", live_errname(e), live_now_ms() - t0);
            return 0;
        }
    }
    char buf[256];
    ssize_t got = read(fd, buf, sizeof buf);
    int e = errno;
    long el = live_now_ms() - t0;
    if (got < 0)
        printf("result=%s elapsed_ms=%ld op=read\n", live_errname(e), el);
    else
        printf("result=%s elapsed_ms=%ld op=read\n", got ? "data" : "eof", el);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 5 && !strcmp(argv[1], "server")) {
        live_enter_netns(argv[2]);
        return server(argv[3], atoi(argv[4]));
    }
    if (argc == 8 && !strcmp(argv[1], "client")) {
        live_enter_netns(argv[2]);
        return client(argv[3], atoi(argv[4]), argv[5], argv[6], argv[7]);
    }
    fprintf(stderr, "usage: live_deadpeer server NETNS ADDR PORT\n"
                    "       live_deadpeer client NETNS ADDR PORT READYFILE GOFILE read|write\n");
    return 2;
}
