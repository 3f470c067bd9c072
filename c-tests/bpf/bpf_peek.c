/* bpf_peek: the options of another process's socket, for clients that
 * cannot print their own (busybox nc). pidfd_getfd(2) copies descriptor FD
 * of process PID here (root, or ptrace access to PID), getsockopt(2) reads
 * what the kernel has; the connection is not touched (as
 * cmd/src/audit/sockopt.rs does).
 *
 *   bpf_peek PID FD
 *
 * Output, one line, in bpf_client.c's format:
 *   keepalive=1 idle=11 intvl=3 cnt=4 user_timeout=20000 syncnt=2 local=IP:PORT
 * Exit 1 (with the reason) when FD is not a TCP socket of PID. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf_opts.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bpf_peek PID FD\n");
        return 2;
    }
    int pidfd = syscall(SYS_pidfd_open, atoi(argv[1]), 0);
    if (pidfd < 0) {
        printf("pidfd_open: %s\n", strerror(errno));
        return 1;
    }
    int fd = syscall(SYS_pidfd_getfd, pidfd, atoi(argv[2]), 0);
    if (fd < 0) {
        printf("pidfd_getfd: %s\n", strerror(errno));
        return 1;
    }
    int type = bpf_opt(fd, SOL_SOCKET, SO_TYPE), proto = bpf_opt(fd, SOL_SOCKET, SO_PROTOCOL);
    if (type != SOCK_STREAM || proto != IPPROTO_TCP) {
        printf("fd %s: not a TCP socket\n", argv[2]);
        return 1;
    }
    bpf_print_opts(fd);
    close(fd);
    close(pidfd);
    return 0;
}
