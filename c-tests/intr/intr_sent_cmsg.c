/* sendmsg with a control message whose cmsg_len runs past msg_controllen,
 * on a socket whose sendmsg the kernel completes without reading the
 * control messages: must give the same result with sockfix as without.
 *
 * A sendmsg hook that walked the caller's SCM_RIGHTS messages after every
 * successful call (to follow the fds it sent) crashed here. Where the
 * kernel parsed the control data it has checked
 * each cmsg_len against msg_controllen (CMSG_OK), but two sendmsg paths
 * accept data without parsing it: an MPTCP socket (IPPROTO_MPTCP), and
 * TCP Fast Open on a non-blocking socket (MSG_FASTOPEN, the SYN carries
 * the data, sendmsg returns before the cmsg check). The walk then trusts
 * cmsg_len and reads far past the 24-byte control buffer.
 *
 *   mptcp  connected MPTCP socket on 127.0.0.1 (skipped when disabled)
 *   tfo    non-blocking TCP socket, TCP_FASTOPEN_NO_COOKIE, sendmsg with
 *          MSG_FASTOPEN to a listener on 127.0.0.1
 *
 * Prints "sendmsg = N errno=E" and exits 0; 77 when the socket kind is not
 * available here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2 || (strcmp(argv[1], "mptcp") && strcmp(argv[1], "tfo"))) {
        fprintf(stderr, "usage: intr_sent_cmsg mptcp|tfo\n");
        return 2;
    }
    int tfo = !strcmp(argv[1], "tfo");
    int proto = tfo ? 0 : IPPROTO_MPTCP;
    int l = socket(AF_INET, SOCK_STREAM, proto);
    if (l < 0) {
        printf("no %s sockets here: %s\n", argv[1], strerror(errno));
        return 77;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4) || getsockname(l, (struct sockaddr *)&a, &sl)) {
        perror("listener");
        return 1;
    }
    int c = socket(AF_INET, SOCK_STREAM | (tfo ? SOCK_NONBLOCK : 0), proto);
    if (c < 0) {
        perror("socket");
        return 1;
    }
    if (tfo) {
        int one = 1;
        if (setsockopt(c, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &one, sizeof one)) {
            printf("no TCP_FASTOPEN_NO_COOKIE here: %s\n", strerror(errno));
            return 77;
        }
    } else if (connect(c, (struct sockaddr *)&a, sizeof a)) {
        perror("connect");
        return 1;
    }
    /* 24 bytes of control data; its one SCM_RIGHTS header claims SIZE_MAX / 16. */
    union {
        struct cmsghdr h;
        char b[64];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.h.cmsg_level = SOL_SOCKET;
    ctl.h.cmsg_type = SCM_RIGHTS;
    ctl.h.cmsg_len = (size_t)-1 >> 4;
    char data[] = "hello";
    struct iovec iov = { data, 5 };
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = &ctl;
    mh.msg_controllen = 24;
    if (tfo) {
        mh.msg_name = &a;
        mh.msg_namelen = sizeof a;
    }
    errno = 0;
    ssize_t r = sendmsg(c, &mh, tfo ? MSG_FASTOPEN : 0);
    printf("sendmsg = %zd errno=%d\n", r, r < 0 ? errno : 0);
    return 0;
}
