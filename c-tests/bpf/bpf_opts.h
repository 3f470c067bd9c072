/* The one line every client of the companion's tests prints about its
 * socket: what the kernel has, read with getsockopt(2), and the local end.
 *   keepalive=1 idle=15 intvl=15 cnt=9 user_timeout=0 syncnt=2 local=IP:PORT
 * (-1 for an option that cannot be read). Included by bpf_client.c,
 * bpf_peek.c and bpf_uring_client.c.in. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

static int bpf_opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, level, name, &v, &len) != 0)
        return -1;
    return v;
}

static void bpf_print_opts(int fd)
{
    struct sockaddr_storage local = {0};
    socklen_t ll = sizeof(local);
    char ip[INET6_ADDRSTRLEN] = "?";
    int lport = 0;
    if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0 && local.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&local)->sin_addr, ip, sizeof(ip));
        lport = ntohs(((struct sockaddr_in *)&local)->sin_port);
    } else if (local.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&local)->sin6_addr, ip, sizeof(ip));
        lport = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
    }
    printf("keepalive=%d idle=%d intvl=%d cnt=%d user_timeout=%d syncnt=%d local=%s:%d\n",
           bpf_opt(fd, SOL_SOCKET, SO_KEEPALIVE), bpf_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE),
           bpf_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL), bpf_opt(fd, IPPROTO_TCP, TCP_KEEPCNT),
           bpf_opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), bpf_opt(fd, IPPROTO_TCP, TCP_SYNCNT), ip, lport);
    fflush(stdout);
}
