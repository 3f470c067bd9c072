/* Histories in which a TCP socket made non-blocking becomes blocking again
 * in a way no preload library sees. Its blocking reads must be resumed
 * after an outside SIGWINCH/SIGHUP like any other's: this is why sockfix
 * does not take a socket's blocking mode from the calls it sees and skip the
 * resume on "non-blocking" sockets (a library that did lost the resume in
 * each of these). Each mode walks one connection on 127.0.0.1 through its
 * history, checks that the socket is blocking at the end (F_GETFL), then
 * reads 3 x 1000 bytes that the peer sends from 600 ms on, while another
 * process sends SIGWINCH+SIGHUP every 30 ms (handlers without SA_RESTART).
 * Same output and exit codes as intr_nonblock.c: 0 every byte and no EINTR,
 * 3 EINTR reached the program.
 *
 *   fork-then-nb   fork() while the socket is blocking (the child keeps its
 *                  copy); the parent then sets O_NONBLOCK (fcntl), the
 *                  child clears it on its copy and exits; the parent reads.
 *   ioctl-hibits   fcntl sets O_NONBLOCK; ioctl(fd, FIONBIO | 1UL << 32,
 *                  &zero) clears it: the kernel takes the request as an
 *                  unsigned int (FIONBIO).
 *   __fcntl        fcntl sets O_NONBLOCK; __fcntl (exported by glibc,
 *                  GLIBC_2.2.5, the same function as fcntl) clears it.
 *   _Fork          fcntl sets O_NONBLOCK; a child made with _Fork()
 *                  (glibc 2.34, runs no fork handlers) clears it and exits.
 *   setfl-race     fcntl(F_SETFL, O_NONBLOCK) and, between the kernel's
 *                  change and the return to the caller (where a hook would
 *                  note it), a complete fcntl(F_SETFL, blocking) (as
 *                  another thread, or a signal handler, can do): the kernel
 *                  ends blocking. The interleaving is forced with seccomp:
 *                  the F_SETFL that sets O_NONBLOCK traps (SIGSYS), the
 *                  handler makes it (raw syscall), then calls fcntl to make
 *                  the socket blocking, and returns 0 as the call's result.
 *   __dup2         fcntl sets O_NONBLOCK; a copy made by __dup2 (glibc's
 *                  exported alias of dup2) clears it
 *   recvmmsg-reuse a non-blocking TCP socket is closed and a blocking one
 *                  received with recvmmsg (SCM_RIGHTS) onto its number
 *   system         fcntl sets O_NONBLOCK; a program run by system() (glibc:
 *                  posix_spawn, no fork handlers) clears it on the fd it
 *                  inherited
 *
 *   control-plain  never non-blocking (the harness itself: resumed)
 *   control-fcntl  fcntl sets O_NONBLOCK, fcntl clears it (seen: resumed)
 *   control-ioctl  ioctl(FIONBIO) sets and clears it
 *   control-fcntl-ioctl  fcntl sets it, ioctl(FIONBIO, 0) clears it
 *   control-fcntl64  fcntl64 sets and clears it
 *   control-dup    fcntl sets it on fd, clears it through dup(fd)
 *                  (changes a library can see)
 *
 * The writer and the storm are this program again (helper-writer,
 * helper-storm), started with posix_spawn: a fork after the history would
 * run fork handlers, which could hide a gap.
 *
 * usage: intr_nonblock_gaps MODE
 */
#include "intr_common.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#define DELAY_MS 600L
#define GAP_MS 200L
#define CHUNK 1000
#define CHUNKS 3

extern int __fcntl(int fd, int cmd, ...);
extern int __dup2(int fd, int fd2);
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 28)
extern int fcntl64(int fd, int cmd, ...);
#endif

static void set_fl(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        die("F_GETFL on fd %d", fd);
    fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    if (fcntl(fd, F_SETFL, fl) != 0)
        die("F_SETFL on fd %d", fd);
    printf("step: fcntl(fd %d, F_SETFL) %s O_NONBLOCK\n", fd, on ? "sets" : "clears");
}

static int is_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        die("F_GETFL on fd %d", fd);
    return (fl & O_NONBLOCK) != 0;
}

static void expect_eagain(int fd)
{
    unsigned char b[16];
    errno = 0;
    ssize_t n = read(fd, b, sizeof b);
    if (n != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        printf("ERROR: read on the non-blocking fd %d returned %zd (%s), expected -1 EAGAIN\n", fd, n,
               n < 0 ? strerror(errno) : "data");
        exit(RC_ERR);
    }
    printf("step: read(fd %d) -> -1 EAGAIN, as a non-blocking socket should\n", fd);
}

static void connection(int *mine, int *peer)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int l = tcp_listener(AF_INET, &ss, &sl, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&ss, sl))
        die("connect");
    int s = accept(l, NULL, NULL);
    if (s < 0)
        die("accept");
    close(l);
    *mine = c;
    *peer = s;
}

static const char *rc_name(int rc)
{
    return rc == RC_OK ? "ok" : rc == RC_EINTR ? "eintr" : rc == RC_EAGAIN ? "eagain" : rc == RC_EOF ? "eof" : "error";
}

/* The writer and the storm are started before the history with
 * posix_spawn (this program again, in a helper mode), and wait for a byte
 * on a pipe: a fork() after the history would run fork handlers, and a
 * library that follows fork could then take the socket for shared and
 * hide the gap. */
static pid_t writer_pid, storm_pid;
static int go_fd = -1;

static void helper_writer(int peer, int go)
{
    char b;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);
    if (read(go, &b, 1) != 1)
        _exit(1);
    sleep_ms(DELAY_MS);
    unsigned char buf[CHUNK];
    for (int c = 0; c < CHUNKS; c++) {
        if (c)
            sleep_ms(GAP_MS);
        pat_fill(buf, (uint64_t)c * CHUNK, CHUNK);
        for (size_t done = 0; done < CHUNK;) {
            ssize_t n = write(peer, buf + done, CHUNK - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                _exit(2);
            done += (size_t)n;
        }
    }
    for (;;)
        if (read(peer, &b, 1) <= 0)
            _exit(0);
}

static void helper_storm(pid_t target, int go)
{
    char b;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (read(go, &b, 1) != 1)
        _exit(1);
    for (int t = 0; t < 300 && getppid() == target; t++) {
        sleep_ms(30);
        if (kill(target, SIGWINCH) || kill(target, SIGHUP))
            _exit(0);
    }
    _exit(0);
}

static pid_t spawn_self(const char *what, int a, int b, int close_fd)
{
    char exe[512], sa[32], sb[32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        die("readlink /proc/self/exe");
    exe[n] = 0;
    snprintf(sa, sizeof sa, "%d", a);
    snprintf(sb, sizeof sb, "%d", b);
    char *args[] = { exe, (char *)what, sa, sb, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, close_fd);
    pid_t pid;
    extern char **environ;
    int e = posix_spawn(&pid, exe, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        errno = e;
        die("posix_spawn %s", what);
    }
    return pid;
}

static void helpers_start(int fd, int peer)
{
    int go[2];
    if (pipe(go))
        die("pipe");
    fflush(stdout);
    writer_pid = spawn_self("helper-writer", peer, go[0], fd);
    storm_pid = spawn_self("helper-storm", (int)getpid(), go[0], fd);
    close(go[0]);
    close(peer);
    go_fd = go[1];
}

/* Blocking reads on fd until the peer's 3000 bytes are in (intr_nonblock.c). */
static int blocking_reads(int fd)
{
    if (write(go_fd, "gg", 2) != 2)
        die("write go");
    size_t want = (size_t)CHUNKS * CHUNK, got = 0;
    unsigned char buf[CHUNKS * CHUNK];
    int eintr = 0, rc = RC_OK;
    long t0 = now_ms();
    while (got < want && now_ms() - t0 < 8000) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR) {
            eintr++;
            continue;
        }
        if (n < 0) {
            printf("read(fd %d): %s after %zu bytes\n", fd, strerror(errno), got);
            rc = errno == EAGAIN || errno == EWOULDBLOCK ? RC_EAGAIN : RC_ERR;
            break;
        }
        if (n == 0) {
            printf("read(fd %d): EOF after %zu bytes\n", fd, got);
            rc = RC_EOF;
            break;
        }
        got += (size_t)n;
    }
    long elapsed = now_ms() - t0;
    stop_child(storm_pid);
    stop_child(writer_pid);
    if (rc == RC_OK && got < want) {
        printf("only %zu of %zu bytes in 8 s\n", got, want);
        rc = RC_ERR;
    }
    if (rc == RC_OK && pat_check(buf, 0, want) >= 0) {
        printf("DATA CORRUPTED at byte %ld\n", pat_check(buf, 0, want));
        rc = RC_ERR;
    }
    if (rc == RC_OK && eintr)
        rc = RC_EINTR;
    printf("result=%s eintr=%d elapsed_ms=%ld bytes=%zu want=%zu\n", rc_name(rc), eintr, elapsed, got, want);
    print_hits();
    return rc;
}

static void wait_ok(pid_t k, const char *what)
{
    int st;
    while (waitpid(k, &st, 0) == -1 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("%s failed (status 0x%x)", what, st);
}

/* ---------- setfl-race: seccomp forces the interleaving ---------- */

#define MARK_HI 0x100u /* bit 40 of the argument: the kernel takes an int */
static int race_fd = -1;
static int race_fl;
static volatile sig_atomic_t race_done;

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    int e = errno;
    /* The trapped call, made now ("thread A" in the kernel)... */
    long r = syscall(SYS_fcntl, race_fd, F_SETFL, (long)(race_fl | O_NONBLOCK) | ((long)MARK_HI << 32));
    /* ...then "thread B" makes the socket blocking again, through libc. */
    fcntl(race_fd, F_SETFL, race_fl & ~O_NONBLOCK);
    race_done = 1;
    uc->uc_mcontext.gregs[REG_RAX] = r;
    errno = e;
}

static int install_race_filter(void)
{
#if defined(__x86_64__)
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xC000003E /* AUDIT_ARCH_X86_64 */, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fcntl, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETFL, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_NONBLOCK, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + 4),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MARK_HI, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog prog = { (unsigned short)(sizeof f / sizeof f[0]), f };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL))
        die("sigaction SIGSYS");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        printf("no seccomp filter here: %s\n", strerror(errno));
        return -1;
    }
    return 0;
#else
    printf("setfl-race: x86_64 only\n");
    return -1;
#endif
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !strcmp(argv[1], "helper-writer"))
        helper_writer(atoi(argv[2]), atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "helper-storm"))
        helper_storm((pid_t)atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "clear")) {
        /* Helper for modes that run a program: clear O_NONBLOCK on fd. */
        int fd = atoi(argv[2]);
        int fl = fcntl(fd, F_GETFL);
        return fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) ? 1 : 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: intr_nonblock_gaps MODE\n");
        return RC_ERR;
    }
    const char *mode = argv[1];
    printf("pid=%d mode=%s\n", (int)getpid(), mode);
    signal(SIGPIPE, SIG_IGN);
    install_handler(SIGWINCH, 'a');
    install_handler(SIGHUP, 'a');

    int fd, peer;
    connection(&fd, &peer);
    helpers_start(fd, peer);
    if (!strcmp(mode, "control-plain")) {
        printf("step: fd %d never made non-blocking\n", fd);
    } else if (!strcmp(mode, "control-fcntl")) {
        set_fl(fd, 1);
        expect_eagain(fd);
        set_fl(fd, 0);
    } else if (!strcmp(mode, "control-ioctl") || !strcmp(mode, "control-fcntl-ioctl")) {
        int one = 1, zero = 0;
        if (!strcmp(mode, "control-ioctl") ? ioctl(fd, FIONBIO, &one) : fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
            die("set O_NONBLOCK");
        printf("step: %s sets O_NONBLOCK\n", !strcmp(mode, "control-ioctl") ? "ioctl(FIONBIO, 1)" : "fcntl(F_SETFL)");
        expect_eagain(fd);
        if (ioctl(fd, FIONBIO, &zero))
            die("ioctl(FIONBIO, 0)");
        printf("step: ioctl(fd %d, FIONBIO, 0)\n", fd);
    } else if (!strcmp(mode, "control-fcntl64")) {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 28)
        if (fcntl64(fd, F_SETFL, fcntl64(fd, F_GETFL) | O_NONBLOCK))
            die("fcntl64 set");
        expect_eagain(fd);
        if (fcntl64(fd, F_SETFL, fcntl64(fd, F_GETFL) & ~O_NONBLOCK))
            die("fcntl64 clear");
        printf("step: fcntl64(fd %d, F_SETFL) set, then cleared O_NONBLOCK\n", fd);
#else
        printf("no fcntl64 in this C library\n");
        return RC_SKIP;
#endif
    } else if (!strcmp(mode, "control-dup")) {
        set_fl(fd, 1);
        expect_eagain(fd);
        int d = dup(fd);
        if (d < 0)
            die("dup");
        set_fl(d, 0);
    } else if (!strcmp(mode, "fork-then-nb")) {
        int go[2];
        if (pipe(go))
            die("pipe");
        fflush(stdout);
        pid_t k = fork();
        if (k < 0)
            die("fork");
        if (k == 0) {
            char b;
            close(go[1]);
            if (read(go[0], &b, 1) != 1)
                _exit(1);
            set_fl(fd, 0);
            _exit(0);
        }
        close(go[0]);
        printf("step: fork() while fd %d is blocking; the child keeps its copy\n", fd);
        set_fl(fd, 1);
        expect_eagain(fd);
        if (write(go[1], "g", 1) != 1)
            die("write go");
        wait_ok(k, "the child that clears O_NONBLOCK");
        printf("step: the child cleared O_NONBLOCK on its copy and exited\n");
    } else if (!strcmp(mode, "ioctl-hibits")) {
        set_fl(fd, 1);
        expect_eagain(fd);
        int zero = 0;
        unsigned long req = (unsigned long)FIONBIO | (1UL << 32);
        if (ioctl(fd, req, &zero) != 0)
            die("ioctl(FIONBIO | 1 << 32)");
        printf("step: ioctl(fd %d, FIONBIO | 1UL << 32, &0) = 0\n", fd);
    } else if (!strcmp(mode, "__fcntl")) {
        set_fl(fd, 1);
        expect_eagain(fd);
        int fl = __fcntl(fd, F_GETFL);
        if (fl < 0 || __fcntl(fd, F_SETFL, fl & ~O_NONBLOCK))
            die("__fcntl F_SETFL");
        printf("step: __fcntl(fd %d, F_SETFL) clears O_NONBLOCK\n", fd);
    } else if (!strcmp(mode, "__dup2")) {
        set_fl(fd, 1);
        expect_eagain(fd);
        if (__dup2(fd, 150) != 150)
            die("__dup2");
        printf("step: __dup2(fd %d, 150) (exported by glibc, GLIBC_2.2.5, the same function as dup2)\n", fd);
        set_fl(150, 0);
    } else if (!strcmp(mode, "recvmmsg-reuse")) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
            die("socketpair");
        /* A non-blocking TCP socket takes a number, and is closed (close
         * is not hooked: its entry stays). */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int l = tcp_listener(AF_INET, &ss, &sl, 0);
        int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (nb < 0 || (connect(nb, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS))
            die("non-blocking connect");
        printf("step: socket(SOCK_NONBLOCK) = fd %d, connected, closed\n", nb);
        close(nb);
        /* fd comes back over a UNIX socketpair, received with recvmmsg:
         * at the lowest free number, nb's. */
        char byte = 'x';
        struct iovec iov = { &byte, 1 };
        union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;
        memset(&ctl, 0, sizeof ctl);
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof ctl.b;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
        if (sendmsg(sp[0], &mh, 0) != 1)
            die("sendmsg SCM_RIGHTS");
        struct mmsghdr mm;
        memset(&mm, 0, sizeof mm);
        memset(&ctl, 0, sizeof ctl);
        mm.msg_hdr = mh;
        mm.msg_hdr.msg_control = ctl.b;
        mm.msg_hdr.msg_controllen = sizeof ctl.b;
        if (recvmmsg(sp[1], &mm, 1, 0, NULL) != 1)
            die("recvmmsg");
        cm = CMSG_FIRSTHDR(&mm.msg_hdr);
        if (!cm || cm->cmsg_type != SCM_RIGHTS)
            die("no fd received");
        int got;
        memcpy(&got, CMSG_DATA(cm), sizeof got);
        close(sp[0]);
        close(sp[1]);
        close(l);
        printf("step: fd %d sent with SCM_RIGHTS, received with recvmmsg as fd %d\n", fd, got);
        if (got != nb) {
            printf("ERROR: received as fd %d, not on the closed socket's number %d\n", got, nb);
            return RC_ERR;
        }
        fd = got;
    } else if (!strcmp(mode, "system")) {
        set_fl(fd, 1);
        expect_eagain(fd);
        char exe[512], cmd[600];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            die("readlink");
        exe[n] = 0;
        snprintf(cmd, sizeof cmd, "%s clear %d", exe, fd);
        fflush(stdout);
        if (system(cmd) != 0)
            die("system(%s)", cmd);
        printf("step: system(\"... clear %d\"): the program it ran cleared O_NONBLOCK\n", fd);
    } else if (!strcmp(mode, "_Fork")) {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
        set_fl(fd, 1);
        expect_eagain(fd);
        fflush(stdout);
        pid_t k = _Fork();
        if (k < 0)
            die("_Fork");
        if (k == 0) {
            int fl = fcntl(fd, F_GETFL);
            _exit(fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) ? 1 : 0);
        }
        wait_ok(k, "the _Fork child");
        printf("step: a _Fork() child cleared O_NONBLOCK on its copy and exited\n");
#else
        printf("no _Fork in this C library\n");
        return RC_SKIP;
#endif
    } else if (!strcmp(mode, "setfl-race")) {
        race_fd = fd;
        race_fl = fcntl(fd, F_GETFL);
        if (race_fl < 0)
            die("F_GETFL");
        if (install_race_filter())
            return RC_SKIP;
        if (fcntl(fd, F_SETFL, race_fl | O_NONBLOCK) != 0)
            die("F_SETFL O_NONBLOCK");
        if (!race_done) {
            printf("ERROR: the seccomp trap did not fire\n");
            return RC_ERR;
        }
        printf("step: fcntl(fd %d, F_SETFL, O_NONBLOCK) = 0, and a fcntl(F_SETFL, blocking) ran between the "
               "kernel's change and the call's return\n", fd);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return RC_ERR;
    }
    if (is_nonblocking(fd)) {
        printf("ERROR: fd %d is still non-blocking after the history\n", fd);
        return RC_ERR;
    }
    printf("step: F_GETFL(fd %d): blocking; now blocking reads under the storm\n", fd);
    int rc = blocking_reads(fd);
    close(fd);
    return rc;
}
