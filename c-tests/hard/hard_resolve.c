// hard_resolve: how libsockfix.so filled its table of libc's functions,
// asked through the library's exported sockfix_resolved() (see src/real.rs),
// checked slot by slot against what dlsym(RTLD_NEXT) answers from inside
// the library (c-tests/hard/t_hard_resolve.sh).
//
//   hard_resolve [--dlopen LIB] [--shim SHIM]
//
// Prints one line per slot ("name via addr next verdict") and a summary
// "table=N dlsym=N missing=N lazy=N mismatches=N". With --dlopen the library
// is loaded with dlopen() first (not preloaded); with --shim, the address of
// SHIM's connect is printed as "shim_connect=ADDR" and a connect through the
// library must reach it. Exits 0 when every slot is filled and agrees.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef int (*resolved_fn)(unsigned, const char **, void **, void **);

int main(int argc, char **argv) {
    const char *dl = NULL, *shim = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dlopen")) dl = argv[i + 1];
        else if (!strcmp(argv[i], "--shim")) shim = argv[i + 1];
    }
    void *lib = RTLD_DEFAULT;
    if (dl && !(lib = dlopen(dl, RTLD_NOW))) {
        printf("dlopen %s: %s\n", dl, dlerror());
        return 2;
    }
    resolved_fn resolved = (resolved_fn)dlsym(lib, "sockfix_resolved");
    if (!resolved) {
        printf("no sockfix_resolved: is the library loaded?\n");
        return 2;
    }
    int count[4] = {0}, bad = 0;
    const char *how[] = {"lazy", "table", "dlsym", "missing"};
    for (unsigned i = 0;; i++) {
        const char *name = NULL;
        void *addr = NULL, *next = NULL;
        int via = resolved(i, &name, &addr, &next);
        if (via < 0) break;
        int ok = via == 1 || via == 2 ? addr == next && addr != NULL : via == 3 ? next == NULL : 0;
        if (via >= 0 && via < 4) count[via]++;
        bad += !ok;
        printf("%s %s %p %p %s\n", name, via >= 0 && via < 4 ? how[via] : "?", addr, next, ok ? "ok" : "MISMATCH");
    }
    printf("table=%d dlsym=%d missing=%d lazy=%d mismatches=%d\n", count[1], count[2], count[3], count[0], bad);
    if (shim) {
        void *h = dlopen(shim, RTLD_NOW | RTLD_NOLOAD);
        void *c = h ? dlsym(h, "connect") : NULL;
        int *calls = h ? (int *)dlsym(h, "hard_resolve_shim_calls") : NULL;
        printf("shim_connect=%p\n", c);
        // A connect through the library (the program's connect is sockfix's)
        // must go on to the shim's.
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        connect(fd, (struct sockaddr *)&sa, sizeof sa);
        close(fd);
        printf("shim_calls=%d\n", calls ? *calls : -1);
    }
    return bad || count[0] ? 1 : 0;
}
