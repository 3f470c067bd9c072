# Blocking writes under a SIGWINCH+SIGHUP storm (every 50 ms, handlers without
# SA_RESTART): the victim sends 8 MB in one blocking call (then loops on short
# writes) through small socket buffers; the peer reads nothing for 1 s, then
# reads slowly and checks every byte of a counter pattern.  Without sockfix a
# write fails with EINTR; with it every byte arrives once and in order.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
X=$CT_BIN/intr_write
[ -x "$X" ] || fail "$X not built"

cases=(
    "write|-m write"
    "send|-m send"
    "sendto|-m sendto"
    "writev|-m writev"
    "sendmsg|-m sendmsg"
    "IPv6 write|-k tcp6 -m write"
    "accepted socket send|-k tcp4acc -m send"
)
intr_start_cases cases without "$X"
intr_expect_cases cases without "without lib: 8 MB" eintr 0 1000
intr_lib_or_skip
intr_start_cases cases with "$X"
i=0
for c in "${cases[@]}"; do
    intr_finish "with$i"
    if intr_expect "with$i" "with lib: 8 MB ${c%%|*}" ok 1000 20000; then
        printf '%s\n' "$R_OUT" | grep -q '^peer: all 8388608 bytes received in order' ||
            intr_bad "${c%%|*}" "peer did not confirm the 8 MB"
        intr_need_hits "${c%%|*}" WINCH 10
        echo "      $(printf '%s\n' "$R_OUT" | grep '^result=' | sed 's/^result=ok //')"
    fi
    i=$((i + 1))
done
intr_done
