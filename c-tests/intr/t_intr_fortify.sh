# The SIGWINCH story in a fortified binary (-D_FORTIFY_SOURCE=2): the reads go through
# __read_chk, __recv_chk and __recvfrom_chk, which the library must interpose
# as well.  Peer answers after 1 s; SIGWINCH+SIGHUP every 50 ms, handlers
# without SA_RESTART.  Without sockfix: EINTR.  With it: the whole answer.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
F=$CT_BIN/intr_fortify
[ -x "$F" ] || fail "$F not built"
command -v nm >/dev/null || command -v objdump >/dev/null || skip "neither nm nor objdump installed"

# The binary really imports the fortified entry points.
if command -v nm >/dev/null; then
    syms=$(nm -D --undefined-only "$F")
else
    syms=$(objdump -T "$F" | awk '$3 == "*UND*" {print $NF}')
fi
for s in __read_chk __recv_chk __recvfrom_chk; do
    printf '%s\n' "$syms" | grep -qw "$s" || fail "intr_fortify does not import $s (compiler did not fortify); imports: $(printf '%s ' $syms)"
done
echo "ok    intr_fortify imports __read_chk __recv_chk __recvfrom_chk"

modes=(read recv recvfrom)
for m in "${modes[@]}"; do intr_start "wo-$m" without "$F" "$m"; done
for m in "${modes[@]}"; do
    intr_finish "wo-$m"
    intr_expect "wo-$m" "without lib: fortified $m (__${m}_chk)" eintr 0 900
done

intr_lib_or_skip

for m in "${modes[@]}"; do intr_start "w-$m" with "$F" "$m"; done
for m in "${modes[@]}"; do
    intr_finish "w-$m"
    intr_expect "w-$m" "with lib: fortified $m (__${m}_chk)" ok 1100 8000 &&
        intr_need_hits "with lib: fortified $m" WINCH 10
done
intr_done
