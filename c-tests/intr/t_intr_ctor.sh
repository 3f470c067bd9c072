# Handlers installed before sockfix's own constructor runs: a shared library
# the program links (think of a client library) installs SIGWINCH and SIGHUP
# handlers, without SA_RESTART, in its constructor.  The loader runs that
# constructor before the preloaded library's, so sockfix cannot have wrapped
# them when they were installed.  A blocking TCP read interrupted by those
# signals must still be resumed (the SIGWINCH story), as for handlers installed later.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
need gcc
cat >"$CT_TMP/early.c" <<'SRC'
#include <signal.h>
#include <string.h>
extern void h_plain(int);
__attribute__((constructor)) static void early(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h_plain; /* the program's own counting handler */
    sigaction(SIGWINCH, &sa, 0);
    sigaction(SIGHUP, &sa, 0);
}
SRC
# The victim, with h_plain exported so that the library's constructor can use
# it, and linked against libintr_early.so.
gcc -shared -fPIC -o "$CT_TMP/libintr_early.so" "$CT_TMP/early.c" || fail "cannot build libintr_early.so"
sed 's/^U void h_plain(int sig)$/void h_plain(int sig); void h_plain(int sig)/' "$CT_ROOT/c-tests/intr/intr_common.h" >"$CT_TMP/intr_common.h"
grep -q '^void h_plain(int sig); void h_plain' "$CT_TMP/intr_common.h" || fail "cannot export h_plain"
cp "$CT_ROOT/c-tests/intr/intr_victim.c" "$CT_TMP/"
gcc -O2 -pthread -rdynamic -o "$CT_TMP/victim_early" "$CT_TMP/intr_victim.c" \
    -Wl,--no-as-needed -L"$CT_TMP" -lintr_early -Wl,-rpath,"$CT_TMP" || fail "cannot build victim_early"

# The program asks what the constructor installed: same answer either way.
cat >"$CT_TMP/query.c" <<'SRC'
#include <signal.h>
#include <stdio.h>
void h_plain(int sig) { (void)sig; }
int main(void)
{
    int sigs[2] = { SIGWINCH, SIGHUP };
    for (int i = 0; i < 2; i++) {
        struct sigaction q;
        sigaction(sigs[i], NULL, &q);
        printf("sig %d: handler %s, flags 0x%x\n", sigs[i],
               q.sa_handler == h_plain ? "h_plain" : "OTHER", q.sa_flags & ~0x04000000);
    }
    return 0;
}
SRC
gcc -O2 -rdynamic -o "$CT_TMP/query_early" "$CT_TMP/query.c" \
    -Wl,--no-as-needed -L"$CT_TMP" -lintr_early -Wl,-rpath,"$CT_TMP" || fail "cannot build query_early"
q_wo=$(without_lib "$CT_TMP/query_early")
[ "$q_wo" = "$(printf 'sig 28: handler h_plain, flags 0x0\nsig 1: handler h_plain, flags 0x0')" ] ||
    fail "without lib: unexpected dispositions: $q_wo"
if intr_have_lib; then
    q_w=$(with_lib "$CT_TMP/query_early")
    if [ "$q_w" = "$q_wo" ]; then
        echo "ok    [with lib]: sigaction() reports the constructor's handlers as without the library"
    else
        R_OUT=$q_w
        intr_bad "with lib: sigaction query" "differs from without the library: $(echo $q_wo)"
    fi
fi

# -H n: main() leaves the constructor's handlers alone.
intr_run wo without "$CT_TMP/victim_early" -H n -m recv
if intr_expect wo "without lib: handlers from a library constructor, recv" eintr 0 900; then
    [ $(( $(intr_hits WINCH) + $(intr_hits HUP) )) -ge 1 ] ||
        intr_bad "without lib" "the constructor's handlers did not run"
fi
intr_lib_or_skip
intr_run w with "$CT_TMP/victim_early" -H n -m recv
intr_expect w "with lib: handlers from a library constructor, recv" ok 1100 5000 &&
    intr_need_hits "with lib: constructor handlers ran" WINCH 5
intr_done
