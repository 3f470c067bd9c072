// ship_abi_client: a program of either ABI that makes one TCP connection
// over loopback and prints, on one line of stdout, the keepalive options
// the connection got and which libsockfix.so (if any) it has mapped:
//   bits=32 keepalive=1 idle=15 intvl=15 cnt=9 lib=/usr/lib32/libsockfix.so
// The harness builds it for this machine; c-tests/ship/t_ship_preload_abi.sh
// builds it again with gcc -m32, to show that under the global install a
// 32-bit program gets the library of its own ABI and nothing on stderr.
// It writes on stderr only when something fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int opt(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) != 0) return -1;
    return v;
}

// The path of the first mapping whose file name is libsockfix.so, or "-".
static void mapped_lib(char *out, size_t size) {
    char line[4096];
    FILE *f = fopen("/proc/self/maps", "r");
    snprintf(out, size, "-");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (!path) continue;
        path[strcspn(path, "\n")] = 0;
        const char *base = strrchr(path, '/') + 1;
        if (strcmp(base, "libsockfix.so") == 0) {
            snprintf(out, size, "%s", path);
            break;
        }
    }
    fclose(f);
}

int main(void) {
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    char lib[4096];
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || c < 0) { perror("socket"); return 1; }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) != 0) {
        perror("listen");
        return 1;
    }
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
    int s = accept(l, NULL, NULL);
    if (s < 0) { perror("accept"); return 1; }
    mapped_lib(lib, sizeof lib);
    printf("bits=%d keepalive=%d idle=%d intvl=%d cnt=%d lib=%s\n", (int)(8 * sizeof(void *)),
           opt(c, SOL_SOCKET, SO_KEEPALIVE), opt(c, IPPROTO_TCP, TCP_KEEPIDLE),
           opt(c, IPPROTO_TCP, TCP_KEEPINTVL), opt(c, IPPROTO_TCP, TCP_KEEPCNT), lib);
    close(s);
    close(c);
    close(l);
    return 0;
}
