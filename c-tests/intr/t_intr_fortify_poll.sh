# A fortified binary (-D_FORTIFY_SOURCE=2) polling a fixed-size pollfd array
# calls __poll_chk / __ppoll_chk instead of poll / ppoll.  A 500 ms poll on a
# connected TCP socket that never becomes readable, SIGWINCH+SIGHUP every
# 20 ms (handlers without SA_RESTART): without sockfix it fails with EINTR at
# once; with it, like a plain poll, it must time out (0) after about 500 ms.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
F=$CT_BIN/intr_fortify
[ -x "$F" ] || fail "$F not built"
need nm
syms=$(nm -D --undefined-only "$F")
for s in __poll_chk __ppoll_chk; do
    printf '%s\n' "$syms" | grep -qw "$s" || fail "intr_fortify does not import $s"
done

for m in poll ppoll; do
    intr_run "wo-$m" without "$F" "$m"
    intr_expect "wo-$m" "without lib: fortified $m (__${m}_chk)" eintr 0 400
done
intr_lib_or_skip
for m in poll ppoll; do
    intr_run "w-$m" with "$F" "$m"
    intr_expect "w-$m" "with lib: fortified $m (__${m}_chk)" timeout 450 800 &&
        intr_need_hits "with lib: fortified $m" WINCH 5
done
intr_done
