// live_utimeout: connections that die of a keepalive or user timeout, and one
// that must not. Used by c-tests/live/t_live_timedout.sh.
//
//   live_utimeout server NETNS ADDR PORT PAUSE_MS
//       Enter /run/netns/NETNS ("-": stay), listen on ADDR:PORT, print
//       "listening". Every connection is left unread for PAUSE_MS after it
//       is accepted (its receive window fills and closes), then read to EOF;
//       at EOF the server prints "received N" and closes it. Answers
//       nothing. Exits by itself after 60 s.
//
//   live_utimeout client NETNS ADDR PORT READYFILE GOFILE MODE [BYTES]
//       Enter NETNS, connect, print "opts ..." (the socket options). Then
//         read   send a request, wait until it is acknowledged, create
//                READYFILE, wait for GOFILE, block in read();
//         write  the same, but after GOFILE write a second request first;
//         flood  write BYTES bytes at once, then shut down the sending
//                side and read until EOF (the server has read it all).
//       On the first failure it prints
//         result=ERRNAME elapsed_ms=N op=OP
//         after opts ...        (the options read back after the failure)
//         after info ...        (TCP_INFO, SIOCOUTQ, getpeername)
//       else result=data|eof|done. A safety alarm ends it after 50 s.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "live_util.h"

static int server(const char *addr, int port, long pause_ms) {
    int lfd = live_listen(addr, port, NULL);
    printf("listening\n");
    struct pollfd pf[17];
    long since[17], got[17];
    int n = 1;
    pf[0].fd = lfd;
    pf[0].events = POLLIN;
    long end = live_now_ms() + 60000;
    while (live_now_ms() < end) {
        long now = live_now_ms();
        for (int i = 1; i < n; i++)
            if (pf[i].fd >= 0 && !pf[i].events && now - since[i] >= pause_ms) pf[i].events = POLLIN;
        int r = poll(pf, n, 50);
        if (r < 0 && errno != EINTR) live_die("poll");
        if (r <= 0) continue;
        if ((pf[0].revents & POLLIN) && n < 17) {
            int c = accept(lfd, NULL, NULL);
            if (c >= 0) {
                pf[n].fd = c;
                pf[n].events = pause_ms > 0 ? 0 : POLLIN;
                pf[n].revents = 0;
                since[n] = live_now_ms();
                got[n] = 0;
                n++;
            }
        }
        for (int i = 1; i < n; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            static char buf[1 << 16];
            ssize_t k = read(pf[i].fd, buf, sizeof buf);
            if (k > 0) {
                got[i] += k;
            } else if (k == 0 || errno != EINTR) {
                printf("received %ld%s\n", got[i], k == 0 ? "" : " (error)");
                close(pf[i].fd);
                pf[i].fd = -1;
            }
        }
    }
    return 0;
}

static unsigned u32at(const unsigned char *p, size_t off, socklen_t len) {
    unsigned v = 0;
    if (off + 4 <= len) memcpy(&v, p + off, 4);
    return v;
}

// What the kernel shows on the socket after the failure.
static void after(int fd) {
    char opts[256];
    printf("after opts %s\n", live_opts(fd, opts, sizeof opts));
    unsigned char ti[512];
    socklen_t l = sizeof ti;
    memset(ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &l) < 0) {
        printf("after info TCP_INFO %s\n", live_errname(errno));
        return;
    }
    int outq = -1;
    ioctl(fd, SIOCOUTQ, &outq);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int pn = getpeername(fd, (struct sockaddr *)&ss, &sl);
    const char *pe = pn < 0 ? live_errname(errno) : "ok";
    // SO_PEERNAME wants a buffer no longer than the address.
    sl = live_opt(fd, SOL_SOCKET, SO_DOMAIN) == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int so = getsockopt(fd, SOL_SOCKET, SO_PEERNAME, &ss, &sl);
    const char *se = so < 0 ? live_errname(errno) : "ok";
    // Offsets of struct tcp_info (include/uapi/linux/tcp.h).
    printf("after info state=%u ca_state=%u retransmits=%u probes=%u backoff=%u options=%u rto=%u unacked=%u "
           "lost=%u retrans=%u total_retrans=%u rtt=%u segs_in=%u snd_wnd=%u outq=%d getpeername=%s "
           "so_peername=%s len=%u\n",
           ti[0], ti[1], ti[2], ti[3], ti[4], ti[5], u32at(ti, 8, l), u32at(ti, 24, l), u32at(ti, 32, l),
           u32at(ti, 36, l), u32at(ti, 100, l), u32at(ti, 68, l), u32at(ti, 140, l), u32at(ti, 228, l), outq, pe,
           se, l);
}

static int client(const char *addr, int port, const char *ready, const char *go, const char *mode, long bytes) {
    alarm(50);
    long t0 = live_now_ms();
    struct sockaddr_storage ss;
    socklen_t sl;
    int fam = live_fill_addr(addr, port, &ss, &sl);
    int fd = socket(fam, SOCK_STREAM, 0);
    if (fd < 0) live_die("socket");
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        printf("result=%s elapsed_ms=%ld op=connect\n", live_errname(errno), live_now_ms() - t0);
        after(fd);
        return 0;
    }
    char opts[256];
    printf("opts %s\n", live_opts(fd, opts, sizeof opts));
    const char *op = "write";
    if (!strcmp(mode, "flood")) {
        static char chunk[1 << 16];
        memset(chunk, 'x', sizeof chunk);
        t0 = live_now_ms();
        for (long left = bytes; left > 0;) {
            ssize_t w = write(fd, chunk, left < (long)sizeof chunk ? (size_t)left : sizeof chunk);
            if (w < 0) goto failed;
            left -= w;
        }
        shutdown(fd, SHUT_WR);
    } else {
        if (live_send_acked(fd, "SELECT sleep(3600);\n") < 0 || live_handshake(ready, go) < 0) return 2;
        t0 = live_now_ms();
        static const char req2[] = "SELECT 1;\n";
        if (!strcmp(mode, "write") && live_write_all(fd, req2, sizeof req2 - 1) < 0) goto failed;
    }
    op = "read";
    char buf[256];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0 && !strcmp(mode, "flood")) {}
    if (got < 0) goto failed;
    printf("result=%s elapsed_ms=%ld op=read\n", !strcmp(mode, "flood") ? "done" : got ? "data" : "eof",
           live_now_ms() - t0);
    return 0;
failed:;
    int e = errno;
    printf("result=%s elapsed_ms=%ld op=%s\n", live_errname(e), live_now_ms() - t0, op);
    after(fd);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && !strcmp(argv[1], "server")) {
        live_enter_netns(argv[2]);
        return server(argv[3], atoi(argv[4]), atol(argv[5]));
    }
    if ((argc == 8 || argc == 9) && !strcmp(argv[1], "client")) {
        live_enter_netns(argv[2]);
        return client(argv[3], atoi(argv[4]), argv[5], argv[6], argv[7], argc == 9 ? atol(argv[8]) : 0);
    }
    fprintf(stderr, "usage: live_utimeout server NETNS ADDR PORT PAUSE_MS\n"
                    "       live_utimeout client NETNS ADDR PORT READYFILE GOFILE read|write|flood [BYTES]\n");
    return 2;
}
