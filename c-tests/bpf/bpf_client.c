/* A client the library cannot reach when built -static: connects, prints
 * the options the kernel gave its socket, then (with "wait") blocks in
 * read() and prints how the connection ended and after how long.
 *
 *   bpf_client HOST PORT [own-idle N] [wait]
 *
 * own-idle N: set TCP_KEEPIDLE=N before connecting, as a program that
 * chooses its own keepalive does. Output, one line:
 *   keepalive=1 idle=15 intvl=15 cnt=9 user_timeout=0 syncnt=0 local=IP:PORT
 * and with wait: "read: ETIMEDOUT after 7.1s" (or the result). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bpf_opts.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bpf_client HOST PORT [own-idle N] [wait]\n");
        return 2;
    }
    int own_idle = 0, wait = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "own-idle") && i + 1 < argc)
            own_idle = atoi(argv[++i]);
        else if (!strcmp(argv[i], "wait"))
            wait = 1;
    }
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(atoi(argv[2]));
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(atoi(argv[2]));
        sl = sizeof(*s6);
    } else {
        fprintf(stderr, "bpf_client: %s: not an address\n", argv[1]);
        return 2;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    if (own_idle > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &own_idle, sizeof(own_idle)) != 0) {
        perror("setsockopt");
        return 1;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    bpf_print_opts(fd);
    if (!wait)
        return 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (n < 0)
        printf("read: %s after %.1fs\n", e == ETIMEDOUT ? "ETIMEDOUT" : strerror(e), secs);
    else
        printf("read: %zd bytes after %.1fs\n", n, secs);
    return 0;
}
