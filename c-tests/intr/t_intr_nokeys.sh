# The library notes, per thread, which signal handlers ran, in five pthread
# keys made by its constructor; only glibc's first 32 keys can be set from a
# signal handler without allocating. A library the program links can take
# them all first (its constructor runs before the preloaded library's). Then
# sockfix must not guess: every EINTR reaches the program as without the
# library, nothing crashes or hangs, and one warning line says why.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
need gcc
cat >"$CT_TMP/keys.c" <<'SRC'
#include <pthread.h>
__attribute__((constructor)) static void take_keys(void)
{
    pthread_key_t k = 0;
    for (int i = 0; i < 40 && k < 40; i++)
        if (pthread_key_create(&k, NULL) != 0)
            break;
}
SRC
gcc -shared -fPIC -o "$CT_TMP/libintr_keys.so" "$CT_TMP/keys.c" || fail "cannot build libintr_keys.so"
gcc -O2 -pthread -o "$CT_TMP/victim_keys" "$CT_ROOT/c-tests/intr/intr_victim.c" -I"$CT_ROOT/c-tests/intr" \
    -Wl,--no-as-needed -L"$CT_TMP" -lintr_keys -Wl,-rpath,"$CT_TMP" || fail "cannot build victim_keys"

intr_run wo without "$CT_TMP/victim_keys" -m recv
intr_expect wo "without lib: recv under a SIGWINCH storm" eintr 0 900
intr_lib_or_skip
intr_run w with env SOCKFIX_LOG=stderr "$CT_TMP/victim_keys" -m recv
if intr_expect w "with lib, no pthread key left: the EINTR reaches the program" eintr 0 900; then
    if printf '%s\n' "$R_OUT" | grep -q 'sockfix.*no pthread key left.*EINTR is not resumed'; then
        echo "ok    [with lib]: one warning says EINTR is not resumed"
    else
        intr_bad "with lib: warning" "no 'no pthread key left' line"
    fi
fi
# The same program without the key-hungry library is resumed: the keys were
# the only difference.
intr_run p with "$CT_BIN/intr_victim" -m recv
intr_expect p "with lib, keys free: recv resumed" ok 1100 5000
intr_done
