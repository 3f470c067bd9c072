// hard_global_probe: what a program sees of a global install. Used by
// c-tests/hard/t_hard_global.sh (installed setuid root there, and run as nobody).
//
//   hard_global_probe [PORT]
//
// Prints, on lines starting with "!" (facts the test checks one by one):
//   ! secure=0|1 mapped=0|1 euid=N      (getauxval(AT_SECURE); libsockfix in
//                                         /proc/self/maps)
//   ! opts keepalive=.. idle=.. intvl=.. cnt=.. user_timeout=..
// and, with PORT, fetches http://127.0.0.1:PORT/hello.txt over a blocking
// TCP connection and prints the status line and the body (the transcript the
// test compares with and without the library). Exit 0, or 1 on an error.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

static int opt(int fd, int level, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) < 0) return -1;
    return v;
}

int main(int argc, char **argv) {
    int mapped = 0;
    FILE *m = fopen("/proc/self/maps", "r");
    if (m) {
        char line[4096];
        while (fgets(line, sizeof line, m))
            if (strstr(line, "/libsockfix.so")) mapped = 1;
        fclose(m);
    }
    printf("! secure=%lu mapped=%d euid=%d\n", getauxval(AT_SECURE), mapped, (int)geteuid());
    if (argc < 2) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    printf("! opts keepalive=%d idle=%d intvl=%d cnt=%d user_timeout=%d\n", opt(fd, SOL_SOCKET, SO_KEEPALIVE),
           opt(fd, IPPROTO_TCP, TCP_KEEPIDLE), opt(fd, IPPROTO_TCP, TCP_KEEPINTVL), opt(fd, IPPROTO_TCP, TCP_KEEPCNT),
           opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
    const char *req = "GET /hello.txt HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        printf("write: %s\n", strerror(errno));
        return 1;
    }
    static char buf[65536];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r < 0) {
            printf("read: %s\n", strerror(errno));
            return 1;
        }
        if (r == 0 || n + (size_t)r >= sizeof buf - 1) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    char *eol = strstr(buf, "\r\n");
    char *body = strstr(buf, "\r\n\r\n");
    if (!eol || !body) {
        printf("bad answer\n");
        return 1;
    }
    *eol = 0;
    printf("status: %s\nbody: %s", buf, body + 4);
    return 0;
}
