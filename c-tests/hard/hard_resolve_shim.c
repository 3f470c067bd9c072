// cflags: -O2 -shared -fPIC
// hard_resolve_shim: a library preloaded beside libsockfix.so by
// c-tests/hard/t_hard_resolve.sh. Built as a shared object by the harness;
// with -DNO_HOOKED it defines none of the functions sockfix stands in for
// (the test builds that variant itself, without a GNU hash table).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

int hard_resolve_shim_calls;

#ifndef NO_HOOKED
// A connect wrapper, as a second preload library might have one: counts
// its calls and passes them on to the next definition.
int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    int (*next)(int, const struct sockaddr *, socklen_t) =
        (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
    hard_resolve_shim_calls++;
    return next ? next(fd, addr, len) : -1;
}
#endif
