// scen_writer: connect, read what the server says first, stay idle, then
// write 4 bytes with one chosen call, SIGPIPE left at its default (a write
// that raised SIGPIPE kills the program: exit status 141). Used by
// c-tests/scen/t_scen_idle.sh for SOCKFIX_IDLE_CHECK on every write call.
//
//   scen_writer ADDR PORT IDLE_MS CALL
//   CALL: write | send | sendto | sendmsg | writev
//
// Prints one line: "call=write rc=4 errno=0" or "call=send rc=-1 errno=EPIPE".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: scen_writer ADDR PORT IDLE_MS CALL\n");
        return 1;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 1; }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
    /* The server's greeting, if any, within 1 s. */
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char buf[4096];
    if (poll(&p, 1, 1000) == 1) (void)read(fd, buf, sizeof buf);
    usleep((useconds_t)atoi(argv[3]) * 1000);
    const char *call = argv[4];
    char msg[] = "ping";
    struct iovec iov = { .iov_base = msg, .iov_len = 4 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    errno = 0;
    ssize_t rc;
    if (!strcmp(call, "write")) rc = write(fd, msg, 4);
    else if (!strcmp(call, "send")) rc = send(fd, msg, 4, 0);
    else if (!strcmp(call, "sendto")) rc = sendto(fd, msg, 4, 0, NULL, 0);
    else if (!strcmp(call, "sendmsg")) rc = sendmsg(fd, &mh, 0);
    else if (!strcmp(call, "writev")) rc = writev(fd, &iov, 1);
    else { fprintf(stderr, "unknown call %s\n", call); return 1; }
    int e = errno;
    const char *name = e ? strerrorname_np(e) : "0";
    printf("call=%s rc=%zd errno=%s\n", call, rc, name ? name : "?");
    fflush(stdout);
    return 0;
}
