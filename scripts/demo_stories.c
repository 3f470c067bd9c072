/* demo_stories: the clients (and small servers) of scripts/demo. Each mode
 * plays one story and prints one line: what the client saw, and when.
 *
 *   demo_stories vanish  NETNS ADDR PORT SECS   connect from inside /run/netns/NETNS,
 *                                               send a query, wait for the answer
 *                                               (the test cuts the link), at most SECS
 *   demo_stories serve   NETNS ADDR PORT        accept and never answer (60 s at most)
 *   demo_stories silent  SECS                   connect to a host that does not answer
 *                                               (a loopback listener whose queue is full)
 *   demo_stories idle    IDLE_MS                a proxy closes a connection idle past
 *                                               IDLE_MS; the client sends its next
 *                                               query after twice that
 *   demo_stories churn   N                      N short connections, closed by the
 *                                               client first; prints how many TIME_WAIT
 *                                               sockets they left (from /proc/net/tcp)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what) {
    printf("demo error: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void enter_netns(const char *ns) {
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) die(path);
    close(fd);
}

static struct sockaddr_in addr_of(const char *ip, int port) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        printf("demo error: bad address %s\n", ip);
        exit(2);
    }
    return a;
}

static int listener(struct sockaddr_in *a, int backlog) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len = sizeof *a;
    if (l < 0 || bind(l, (struct sockaddr *)a, sizeof *a) < 0 || listen(l, backlog) < 0) die("listen");
    getsockname(l, (struct sockaddr *)a, &len);
    return l;
}

/* The keepalive a socket got, in words. */
static const char *keepalive_words(int fd) {
    static char buf[128];
    int on = 0, idle = 0, intvl = 0, cnt = 0;
    socklen_t l = sizeof on;
    getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &l);
    l = sizeof idle, getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &l);
    l = sizeof intvl, getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, &l);
    l = sizeof cnt, getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, &l);
    if (!on)
        snprintf(buf, sizeof buf, "keepalive off");
    else
        snprintf(buf, sizeof buf, "keepalive on: a dead peer is found after %d + %d x %d = %d s", idle, intvl, cnt,
                 idle + intvl * cnt);
    return buf;
}

static __attribute__((noreturn)) void serve(const char *ns, const char *ip, int port) {
    enter_netns(ns);
    struct sockaddr_in a = addr_of(ip, port);
    int l = listener(&a, 16);
    printf("listening\n");
    fflush(stdout);
    alarm(60);
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) continue;
        char buf[512];
        while (read(c, buf, sizeof buf) > 0) {} /* never answers */
        close(c);
    }
}

static int vanish(const char *ns, const char *ip, int port, int secs) {
    enter_netns(ns);
    struct sockaddr_in a = addr_of(ip, port);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    if (write(s, "SELECT SLEEP(600)", 17) < 0) die("write");
    printf("connected (%s); query sent, waiting for the answer\n", keepalive_words(s));
    fflush(stdout);
    long t0 = now_ms();
    struct pollfd p = { .fd = s, .events = POLLIN };
    int n = poll(&p, 1, secs * 1000);
    if (n == 0) {
        printf("verdict: still waiting after %d s, and it would wait forever\n", secs);
        return 1;
    }
    char b;
    ssize_t r = read(s, &b, 1);
    int e = errno;
    printf("verdict: gave up after %.1f s: %s\n", (now_ms() - t0) / 1000.0,
           r < 0 ? strerror(e) : r == 0 ? "end of file" : "an answer");
    return r < 0 && e == ETIMEDOUT ? 0 : 1;
}

static int silent(int secs) {
    struct sockaddr_in a = addr_of("127.0.0.1", 0);
    int l = listener(&a, 0);
    int first = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(first, (struct sockaddr *)&a, sizeof a) < 0) die("connect"); /* fills the queue: SYNs are dropped */
    long t0 = now_ms();
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        close(l);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int r = connect(s, (struct sockaddr *)&a, sizeof a);
        int e = errno;
        if (r == 0)
            printf("verdict: connected after %.1f s\n", (now_ms() - t0) / 1000.0);
        else
            printf("verdict: connect() gave up after %.1f s: %s\n", (now_ms() - t0) / 1000.0, strerror(e));
        exit(r < 0 && e == ETIMEDOUT ? 0 : 1);
    }
    while (now_ms() - t0 < secs * 1000L) {
        int st;
        if (waitpid(child, &st, WNOHANG) == child) return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        usleep(20000);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("verdict: still connecting after %d s (the kernel alone keeps trying for about 2 minutes)\n", secs);
    return 1;
}

/* A proxy in front of a database: answers each query, and closes a
 * connection that sat idle past idle_ms (HAProxy's timeout client). */
static void proxy(int l, long idle_ms) {
    int c = accept(l, NULL, NULL);
    char buf[256];
    for (;;) {
        struct pollfd p = { .fd = c, .events = POLLIN };
        if (poll(&p, 1, (int)idle_ms) == 0) {
            close(c); /* timeout client: the proxy closes */
            sleep(30);
            _exit(0);
        }
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) _exit(0);
        if (write(c, "ok", 2) < 0) _exit(0);
    }
}

static int idle(long idle_ms) {
    struct sockaddr_in a = addr_of("127.0.0.1", 0);
    int l = listener(&a, 4);
    pid_t srv = fork();
    if (srv == 0) proxy(l, idle_ms);
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    char buf[16];
    if (write(s, "SELECT 1", 8) < 0 || read(s, buf, sizeof buf) <= 0) die("first query");
    usleep((useconds_t)(idle_ms * 2 * 1000)); /* the application is busy elsewhere */
    ssize_t w = write(s, "UPDATE t SET paid = 1", 21);
    int e = errno;
    int rc;
    if (w < 0) {
        printf("verdict: the query was refused before anything was sent (%s): the driver reconnects and "
               "retries safely ('2006 gone away')\n",
               strerror(e));
        rc = 0;
    } else {
        ssize_t r = read(s, buf, sizeof buf);
        printf("verdict: the query was sent into the closed connection, then %s: did it run? ('2013 Lost "
               "connection during query')\n",
               r < 0 ? strerror(errno) : "end of file");
        rc = 1;
    }
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    return rc;
}

/* TIME_WAIT sockets whose local or remote port is `port`, from /proc/net/tcp. */
static int time_waits(int port) {
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned lp, rp, st;
        if (sscanf(line, " %*d: %*x:%x %*x:%x %x", &lp, &rp, &st) == 3 && st == 6 && ((int)lp == port || (int)rp == port))
            n++;
    }
    fclose(f);
    return n;
}

static int churn(int n) {
    struct sockaddr_in a = addr_of("127.0.0.1", 0);
    int l = listener(&a, 128);
    pid_t srv = fork();
    if (srv == 0) {
        for (;;) {
            int c = accept(l, NULL, NULL);
            char b[8];
            if (c >= 0 && read(c, b, sizeof b) >= 0) close(c);
        }
    }
    close(l);
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
        close(s); /* the client closes first: its side keeps the TIME_WAIT */
    }
    usleep(200000);
    int tw = time_waits(ntohs(a.sin_port));
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    if (tw == 0)
        printf("verdict: %d short connections left no socket in TIME_WAIT: their source ports are free at once\n", n);
    else
        printf("verdict: %d short connections left %d sockets in TIME_WAIT, each holding a source port for 60 s\n", n, tw);
    return tw == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "serve") && argc == 5) serve(argv[2], argv[3], atoi(argv[4]));
    if (!strcmp(m, "vanish") && argc == 6) return vanish(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
    if (!strcmp(m, "silent") && argc == 3) return silent(atoi(argv[2]));
    if (!strcmp(m, "idle") && argc == 3) return idle(atol(argv[2]));
    if (!strcmp(m, "churn") && argc == 3) return churn(atoi(argv[2]));
    fprintf(stderr, "usage: see the comment at the top of scripts/demo_stories.c\n");
    return 2;
}
