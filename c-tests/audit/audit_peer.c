// The connections t_audit.sh audits: idle, established loopback TCP
// connections held open, made by this program with or without the library.
//
//   audit_peer server HOST PORTFILE   listen on HOST (port 0), write the port
//                                     to PORTFILE, accept and hold every
//                                     connection
//   audit_peer client HOST PORT [MODE] connect, print "connected LOCALPORT",
//                                     hold the connection; MODE kaoff turns
//                                     SO_KEEPALIVE off after connect, kaon
//                                     turns it on (kernel default idle)
//   audit_peer pair                   a connection to itself on 127.0.0.1
//                                     (for a private network namespace);
//                                     prints "connected LOCALPORT"
//
// Every mode ends by itself after 90 s (alarm), and is killed by PID before.
#include "live_util.h"

// Built with -DAUDIT_FAKE_GO, the program carries the section Go's linker
// writes into every Go binary: the audit must take it for one.
#ifdef AUDIT_FAKE_GO
__attribute__((section(".go.buildinfo"), used)) static const char go_buildinfo[16] = "\xff Go buildinf:";
#endif

static void hold(void) {
    for (int i = 0; i < 90; i++) live_sleep_ms(1000);
    exit(0);
}

static int local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) live_die("getsockname");
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void serve(const char *host, const char *portfile) {
    int port;
    int lfd = live_listen(host, 0, &port);
    FILE *f = fopen(portfile, "w");
    if (!f) live_die("%s", portfile);
    fprintf(f, "%d\n", port);
    fclose(f);
    // Accepted connections are held (never closed) until the end.
    for (int held = 0; held < 200;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0 && errno == EINTR) continue;
        if (c < 0) live_die("accept");
        held++;
    }
    hold();
}

static void client(const char *host, int port, const char *mode) {
    int fd = live_connect(host, port);
    if (fd < 0) live_die("connect %s:%d", host, port);
    int v = -1;
    if (strcmp(mode, "kaoff") == 0) v = 0;
    if (strcmp(mode, "kaon") == 0) v = 1;
    if (v >= 0 && setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) < 0) live_die("SO_KEEPALIVE");
    printf("connected %d\n", local_port(fd));
    fflush(stdout);
    hold();
}

static void pair(void) {
    int port;
    int lfd = live_listen("127.0.0.1", 0, &port);
    int fd = live_connect("127.0.0.1", port);
    if (fd < 0) live_die("connect");
    if (accept(lfd, NULL, NULL) < 0) live_die("accept");
    printf("connected %d\n", local_port(fd));
    fflush(stdout);
    hold();
}

int main(int argc, char **argv) {
    alarm(90);
    if (argc == 4 && strcmp(argv[1], "server") == 0) serve(argv[2], argv[3]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "client") == 0) client(argv[2], atoi(argv[3]), argc == 5 ? argv[4] : "");
    if (argc == 2 && strcmp(argv[1], "pair") == 0) pair();
    fprintf(stderr, "usage: audit_peer server HOST PORTFILE | client HOST PORT [kaoff|kaon] | pair\n");
    return 2;
}
