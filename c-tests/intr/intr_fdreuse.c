/* An fd number that was a connected TCP socket is replaced by a pipe behind
 * the library's back; reads on the pipe under a signal storm must still see
 * EINTR, exactly as without the library.
 *
 * Phase 1 makes sure the library knows the fd as TCP: one blocking read on it
 * under the storm (peer answers at 325 ms).  With the library it is resumed
 * ("phase1=ok"); without, it fails ("phase1=eintr").
 * Phase 2 replaces the fd number by a pipe's read end, using one of
 *   dup2 dup3        dup2/dup3(pipe_read_end, fd)
 *   close_range      close_range(fd, fd, 0), then pipe() gets the number
 *   closefrom        closefrom(fd), then pipe() gets the number
 *   sys_close        syscall(SYS_close, fd), then pipe() gets the number
 * and reads fd (read, or -m readv/recv... for the pipe only read and readv
 * make sense) under the same storm; the write end stays open and silent.
 * SIGALRM after 3 s (passed by default) ends a wrongly resumed read.
 * The reverse cases: phase 2 reads a duplicate of the TCP socket (the peer
 * answers again at 925 ms), which must be resumed like the original:
 *   dup2tcp          a pipe at fd 100, then dup2(tcp, 100)
 *   dupfd            fcntl(tcp, F_DUPFD_CLOEXEC, 150)
 *
 * usage: intr_fdreuse how [read|readv]
 * Prints "phase1=..." and "result=<eintr|ok|...> elapsed_ms=N fd=N";
 * exit codes as in intr_common.h (for phase 2).
 */
#include "intr_common.h"
#include <sys/syscall.h>

static const char *res(ssize_t n, int e)
{
    return n > 0 ? "ok" : n == 0 ? "eof" : e == EINTR ? "eintr" : "error";
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "dup2";
    const char *m = argc > 2 ? argv[2] : "read";
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("pid=%d how=%s mode=%s\n", (int)getpid(), how, m);
    install_handler(SIGWINCH, 'a');
    install_handler(SIGHUP, 'a');
    install_handler(SIGALRM, 'a');

    int rfd, wfd;
    if (make_pair("tcp4", &rfd, &wfd, NULL))
        return RC_ERR;
    /* Two chunks of 10 bytes, at 325 ms and 925 ms (between storm ticks). */
    pid_t w = writer_start(wfd, rfd, 325, 2, 600, 10);
    close(wfd);
    /* Nothing free below rfd, so that the next pipe() gets rfd's number. */
    for (;;) {
        int t = open("/dev/null", O_RDONLY);
        if (t < 0)
            die("open /dev/null");
        if (t > rfd) {
            close(t);
            break;
        }
    }

    int sigs[2] = { SIGWINCH, SIGHUP };
    pid_t st = storm_start(getpid(), sigs, 2, 50, 50, 200);

    /* Phase 1: the library sees a read on a TCP socket. */
    unsigned char b[64];
    long t0 = now_ms();
    ssize_t n = read_as("read", rfd, b, 10);
    int e = errno;
    printf("phase1=%s elapsed_ms=%ld\n", res(n, e), now_ms() - t0);

    int fd = rfd, p[2] = { -1, -1 };
    if (!strcmp(how, "dup2tcp")) {
        /* The reverse: a pipe's number becomes the TCP socket.  fd 100 was
         * never a socket in this process. */
        if (pipe(p))
            die("pipe");
        if (dup2(p[0], 100) != 100 || dup2(rfd, 100) != 100)
            die("dup2");
        close(rfd);
        fd = 100;
    } else if (!strcmp(how, "dupfd")) {
        /* A duplicate of the TCP socket at a number never used before. */
        fd = fcntl(rfd, F_DUPFD_CLOEXEC, 150);
        if (fd < 150)
            die("F_DUPFD_CLOEXEC");
        close(rfd);
    } else if (!strcmp(how, "dup2") || !strcmp(how, "dup3")) {
        if (pipe(p))
            die("pipe");
        int r = !strcmp(how, "dup2") ? dup2(p[0], rfd) : dup3(p[0], rfd, O_CLOEXEC);
        if (r != rfd)
            die("%s", how);
        close(p[0]);
    } else {
        if (!strcmp(how, "close_range")) {
            if (close_range((unsigned)rfd, (unsigned)rfd, 0))
                die("close_range");
        } else if (!strcmp(how, "closefrom")) {
            closefrom(rfd);
        } else if (!strcmp(how, "sys_close")) {
            if (syscall(SYS_close, rfd))
                die("SYS_close");
        } else {
            die("unknown how %s", how);
        }
        if (pipe(p))
            die("pipe");
        if (p[0] != rfd) {
            printf("ERROR: pipe() got fd %d, not the closed %d\n", p[0], rfd);
            return RC_ERR;
        }
    }
    struct stat sb;
    fstat(fd, &sb);
    printf("phase2: fd %d is now a %s\n", fd, S_ISFIFO(sb.st_mode) ? "pipe" : S_ISSOCK(sb.st_mode) ? "socket" : "?");

    alarm(3);
    t0 = now_ms();
    n = read_as(m, fd, b, 10);
    e = errno;
    long el = now_ms() - t0;
    alarm(0);
    stop_child(st);
    stop_child(w);
    printf("result=%s elapsed_ms=%ld fd=%d%s%s\n", res(n, e), el, fd, n < 0 ? " errno=" : "", n < 0 ? strerror(e) : "");
    print_hits();
    return n > 0 ? RC_OK : n == 0 ? RC_EOF : e == EINTR ? RC_EINTR : RC_ERR;
}
