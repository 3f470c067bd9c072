// cflags: -O1 -g -fasynchronous-unwind-tables
// hard_unwind_steps: the unwind information (.cfi directives) of the x86_64
// assembly read and write hooks (src/hooks/io_x86_64.rs), checked at every
// instruction of them. Used by c-tests/hard/t_hard_unwind_steps.sh.
//
//   hard_unwind_steps LIB      (with LIB preloaded)
//
// Each of the nine hooks is called on a non-blocking loopback TCP socket
// that has nothing to read (for a read hook) or a full send buffer (for a
// write hook), with the x86 trap flag set: a SIGTRAP comes after every
// instruction. Twice per hook:
//
//   eagain  libc's function fails with EAGAIN and no handler ran: the hook
//           compares the count and returns;
//   again   a wrapped SIGUSR1 handler runs while libc's function runs, so
//           the hook takes its failure path ($again) too.
//
// At every instruction inside the hook the SIGTRAP handler walks the stack
// with _Unwind_Backtrace, as a thread cancelled there or an exception thrown
// through it would: the frame after the hook's must be the caller's, at the
// return address the hook was called with and with the stack pointer the
// caller had (the CFA). The hook's first instruction, where nothing has been
// pushed yet, gives both from the registers, not from unwind information.
//
// One line per hook and path; exit 0 when every walk reached the caller and
// every hook and path stepped enough instructions, 1 otherwise, 2 on a setup
// error, 77 on anything but x86_64. A 5 s alarm bounds it.
#define _GNU_SOURCE
#include <stdio.h>

#ifndef __x86_64__
int main(void)
{
    puts("the assembly hooks are x86_64's only");
    return 77;
}
#else
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

// Fewer than this many distinct instructions of a hook stepped on a path
// means the test did not see the path it means to check: the pushing path
// steps 20 to 26 today, while a hook that jumps straight to libc (an fd the
// library does not hook) steps 7, and one that jumps to its checked twin 8.
#define MIN_OFFSETS 15
// The hooks are about 90 bytes long; a symbol size beyond this is not one.
#define MAX_LEN 1024

enum { READ, READ_CHK, READV, RECV, RECV_CHK, RECVFROM, WRITE, WRITEV, SEND, NHOOKS };
static const char *const names[NHOOKS] = {"read", "__read_chk", "readv", "recv", "__recv_chk",
                                          "recvfrom", "write", "writev", "send"};
static int is_write(int h) { return h >= WRITE; }
static void *hook_addr[NHOOKS];
static size_t hook_len[NHOOKS];

// What the SIGTRAP handler knows and finds during one stepped call.
static struct {
    uintptr_t lo, len;        // the hook being stepped
    int raise_usr1, raised;   // the "again" path: raise SIGUSR1 once in libc
    int entered;              // a step inside the hook was seen
    uintptr_t cfa, ret;       // the caller's CFA and return address, from the first step
    long walks, bad;          // walks made, walks that missed the caller
    long first_bad;           // offset of the first bad walk, -1 if none
    char why[160];            // what was wrong with it
    unsigned char seen[MAX_LEN];
} st;
static unsigned char seen_eagain[NHOOKS][MAX_LEN];
// A walk led astray by wrong unwind information may read a return address
// that points nowhere, and the unwinder reads the code there (to see whether
// it is the kernel's signal return): the fault ends that walk, not the test.
static sigjmp_buf walk_fault;
static volatile sig_atomic_t walking;
static volatile sig_atomic_t usr1_runs;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct walk {
    uintptr_t pc;       // the stepped instruction
    int past_hook;      // the hook's frame was seen, the next one is the caller's
    int done;
    uintptr_t ip, cfa;  // the frame after the hook's
};

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *c, void *p)
{
    struct walk *w = p;
    int before = 0;
    uintptr_t ip = _Unwind_GetIPInfo(c, &before);
    if (w->past_hook) {
        // This frame's CFA is the one the hook's unwind information gave.
        w->ip = ip;
        w->cfa = _Unwind_GetCFA(c);
        w->done = 1;
        return _URC_END_OF_STACK;
    }
    // The hook's frame is the one interrupted by the signal, at its pc.
    if (ip == w->pc && before) w->past_hook = 1;
    return _URC_NO_REASON;
}

static void note_bad(uintptr_t off, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_bad(uintptr_t off, const char *fmt, ...)
{
    st.bad++;
    if (st.first_bad >= 0) return;
    st.first_bad = (long)off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st.why, sizeof st.why, fmt, ap);
    va_end(ap);
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ctx;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t off = pc - st.lo;
    if (off >= st.len) {
        // Outside the hook after it began: in libc's function (or what
        // resolves it). A handler run now is one "since the call began".
        if (st.raise_usr1 && st.entered && !st.raised) {
            st.raised = 1;
            raise(SIGUSR1);
        }
        return;
    }
    if (!st.entered) {
        // The first instruction: the return address is on top of the stack.
        st.entered = 1;
        if (off != 0) note_bad(off, "entered at +%lu, not at its start", (unsigned long)off);
        st.cfa = sp + 8;
        st.ret = *(uintptr_t *)sp;
    }
    st.seen[off] = 1;
    // The interrupted code is the hook, which holds no lock the unwinder
    // could want, so walking from this handler is safe.
    struct walk w = {pc, 0, 0, 0, 0};
    st.walks++;
    walking = 1;
    int faulted = sigsetjmp(walk_fault, 1);
    if (!faulted) _Unwind_Backtrace(walk_frame, &w);
    walking = 0;
    if (faulted)
        note_bad(off, "the walk faulted (signal %d)", faulted);
    else if (!w.past_hook)
        note_bad(off, "the walk did not find the hook's frame");
    else if (!w.done)
        note_bad(off, "the walk ended at the hook's frame");
    else if (w.ip != st.ret)
        note_bad(off, "the next frame is at %#lx, not the caller's %#lx (CFA off by %+ld)", (unsigned long)w.ip,
                 (unsigned long)st.ret, (long)(w.cfa - st.cfa));
    else if (w.cfa != st.cfa)
        note_bad(off, "the caller's CFA is off by %+ld", (long)(w.cfa - st.cfa));
}

static void on_fault(int sig)
{
    if (!walking) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    walking = 0;
    siglongjmp(walk_fault, sig);
}

static void on_usr1(int sig)
{
    (void)sig;
    usr1_runs++;
}

// The hook called through the address looked up (so the call reaches
// exactly the range that is checked, whatever _FORTIFY_SOURCE makes of a
// call by name), inlined into stepped_call so that it is the hook's caller.
static inline __attribute__((always_inline)) ssize_t call_hook(int h, int fd, char *buf, size_t n)
{
    void *f = hook_addr[h];
    struct iovec iov[2] = {{buf, n / 2}, {buf + n / 2, n - n / 2}};
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    switch (h) {
    case READ: return ((ssize_t(*)(int, void *, size_t))f)(fd, buf, n);
    case READ_CHK: return ((ssize_t(*)(int, void *, size_t, size_t))f)(fd, buf, n, n);
    case READV: return ((ssize_t(*)(int, const struct iovec *, int))f)(fd, iov, 2);
    case RECV: return ((ssize_t(*)(int, void *, size_t, int))f)(fd, buf, n, 0);
    case RECV_CHK: return ((ssize_t(*)(int, void *, size_t, size_t, int))f)(fd, buf, n, n, 0);
    case RECVFROM:
        return ((ssize_t(*)(int, void *, size_t, int, struct sockaddr *, socklen_t *))f)(
            fd, buf, n, 0, (struct sockaddr *)&from, &fromlen);
    case WRITE: return ((ssize_t(*)(int, const void *, size_t))f)(fd, buf, n);
    case WRITEV: return ((ssize_t(*)(int, const struct iovec *, int))f)(fd, iov, 2);
    case SEND: return ((ssize_t(*)(int, const void *, size_t, int))f)(fd, buf, n, 0);
    }
    return -2;
}

// The trap flag on around the call only.
__attribute__((noinline)) static ssize_t stepped_call(int h, int fd, char *buf, size_t n)
{
    __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory", "cc");
    ssize_t r = call_hook(h, fd, buf, n);
    __asm__ volatile("pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory", "cc");
    return r;
}

// A connected loopback TCP pair, *a from connect(), *b from accept().
static void tcp_pair(int *a, int *b)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sl) || listen(l, 1) || getsockname(l, (struct sockaddr *)&sa, &sl)) {
        perror("listen");
        exit(2);
    }
    *a = socket(AF_INET, SOCK_STREAM, 0);
    if (*a < 0 || connect(*a, (struct sockaddr *)&sa, sl)) {
        perror("connect");
        exit(2);
    }
    *b = accept(l, NULL, NULL);
    if (*b < 0) {
        perror("accept");
        exit(2);
    }
    close(l);
}

// Small buffers, filled until EAGAIN, so that a write of a few bytes on the
// non-blocking socket fails at once.
static void fill(int fd, int peer)
{
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    static char junk[65536];
    long t0 = now_ms();
    for (;;) {
        if (now_ms() - t0 > 2000) {
            fprintf(stderr, "the send buffer did not fill in 2 s\n");
            exit(2);
        }
        if (send(fd, junk, sizeof junk, MSG_DONTWAIT) < 0) {
            if (errno == EAGAIN) return;
            perror("fill");
            exit(2);
        }
    }
}

// The hook's address and length, from the library's dynamic symbols (a
// stripped library keeps them, sizes included). The address must be the
// one a call by name from the program reaches, and in LIB itself.
static int find_hooks(const char *lib)
{
    void *handle = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    struct link_map *lib_map = NULL;
    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lib_map)) {
        fprintf(stderr, "%s is not loaded: it must be preloaded\n", lib);
        return -1;
    }
    for (int h = 0; h < NHOOKS; h++) {
        void *f = dlsym(RTLD_DEFAULT, names[h]);
        Dl_info di;
        const ElfW(Sym) *sym = NULL;
        struct link_map *map = NULL;
        if (!f || !dladdr1(f, &di, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
            !dladdr1(f, &di, (void **)&map, RTLD_DL_LINKMAP)) {
            fprintf(stderr, "%s: no symbol for %p\n", names[h], f);
            return -1;
        }
        if (map != lib_map) {
            fprintf(stderr, "%s: a call reaches %s, not the library\n", names[h], di.dli_fname);
            return -1;
        }
        if (di.dli_saddr != f || sym->st_size == 0 || sym->st_size > MAX_LEN) {
            fprintf(stderr, "%s: no usable symbol size (%lu)\n", names[h], (unsigned long)sym->st_size);
            return -1;
        }
        hook_addr[h] = f;
        hook_len[h] = sym->st_size;
    }
    return 0;
}

static int offsets(const unsigned char *seen, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) n += seen[i];
    return n;
}

// One stepped call of hook h; mode 0 is "eagain", 1 is "again". Prints the
// line and returns 0 when it passed.
static int run(int h, int mode)
{
    int a, b;
    tcp_pair(&a, &b);
    if (is_write(h)) fill(a, b);
    if (fcntl(a, F_SETFL, O_NONBLOCK)) {
        perror("fcntl");
        exit(2);
    }
    memset(&st, 0, sizeof st);
    st.lo = (uintptr_t)hook_addr[h];
    st.len = hook_len[h];
    st.raise_usr1 = mode;
    st.first_bad = -1;
    usr1_runs = 0;
    char buf[64] = {0};
    errno = 0;
    ssize_t r = stepped_call(h, a, buf, is_write(h) ? 16 : sizeof buf);
    int e = errno;
    close(a);
    close(b);

    int n = offsets(st.seen, st.len);
    char why[256] = "";
    if (st.bad)
        snprintf(why, sizeof why, "walk from +%ld: %s", st.first_bad, st.why);
    else if (r != -1 || e != EAGAIN)
        snprintf(why, sizeof why, "returned %zd (%s), not EAGAIN", r, strerror(e));
    else if (n < MIN_OFFSETS)
        snprintf(why, sizeof why, "only %d instructions stepped, fewer than %d", n, MIN_OFFSETS);
    else if (usr1_runs != mode)
        snprintf(why, sizeof why, "the SIGUSR1 handler ran %d times, not %d", (int)usr1_runs, mode);
    if (mode == 0) memcpy(seen_eagain[h], st.seen, st.len);
    // The failure path steps every instruction of the EAGAIN path and more
    // (the call of $again); the same set means it was not taken.
    int more = 0, missing = -1;
    for (size_t i = 0; mode == 1 && i < st.len; i++) {
        more += st.seen[i] && !seen_eagain[h][i];
        if (seen_eagain[h][i] && !st.seen[i] && missing < 0) missing = (int)i;
    }
    if (mode == 1 && !why[0] && missing >= 0)
        snprintf(why, sizeof why, "+%d stepped on the eagain path, not on this one", missing);
    else if (mode == 1 && !why[0] && !more)
        snprintf(why, sizeof why, "no instruction beyond the eagain path's: $again not called");
    printf("%-6s %-10s %3d instructions stepped", mode ? "again" : "eagain", names[h], n);
    if (mode) printf(" (%d beyond eagain's)", more);
    printf(", %ld walks, %ld bad: %s%s\n", st.walks, st.bad, why[0] ? "FAIL: " : "ok", why);
    return why[0] != 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hard_unwind_steps LIB\n");
        return 2;
    }
    alarm(5);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (find_hooks(argv[1])) return 2;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    struct sigaction su = {0};
    su.sa_handler = on_usr1;
    struct sigaction sf = {0};
    sf.sa_handler = on_fault;
    sf.sa_flags = SA_NODEFER;
    if (sigaction(SIGTRAP, &sa, NULL) || sigaction(SIGUSR1, &su, NULL) || sigaction(SIGSEGV, &sf, NULL) ||
        sigaction(SIGBUS, &sf, NULL)) {
        perror("sigaction");
        return 2;
    }
    int fails = 0;
    for (int h = 0; h < NHOOKS; h++)
        for (int mode = 0; mode < 2; mode++) fails += run(h, mode);
    return fails ? 1 : 0;
}
#endif
