// Helpers shared by the c-tests/opt_*.c programs (header only: scripts/test
// builds every .c in c-tests/ as a program of its own). Each program prints
// one line, built with out(), that ends with the socket options print_opts()
// reads back.
#ifndef OPT_UTIL_H
#define OPT_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

#define SENTINEL 4242 /* an errno value no call returns */

// The options the tests check, in the order they are printed; the labels are
// also the names opt_probe's --pre/--post take.
struct opt { int level, name; const char *label; };
static const struct opt OPTS[] = {
    { SOL_SOCKET, SO_KEEPALIVE, "keepalive" },
    { IPPROTO_TCP, TCP_KEEPIDLE, "idle" },
    { IPPROTO_TCP, TCP_KEEPINTVL, "intvl" },
    { IPPROTO_TCP, TCP_KEEPCNT, "cnt" },
    { IPPROTO_TCP, TCP_USER_TIMEOUT, "user_timeout" },
};
#define NOPTS (sizeof OPTS / sizeof OPTS[0])

// The output line: out() appends to it (printf-style), len = 0 starts it over.
static char line[1024];
static size_t len;
static inline void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void out(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    if (k > 0 && (size_t)k < sizeof line - len) len += k;
}

// Append " keepalive=V idle=V intvl=V cnt=V user_timeout=V" for fd; an option
// getsockopt cannot read prints as "-".
static inline void print_opts(int fd) {
    for (size_t i = 0; i < NOPTS; i++) {
        int v = -1;
        socklen_t l = sizeof v;
        if (getsockopt(fd, OPTS[i].level, OPTS[i].name, &v, &l) == 0) out(" %s=%d", OPTS[i].label, v);
        else out(" %s=-", OPTS[i].label);
    }
}

#endif
