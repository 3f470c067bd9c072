# The first handler of the program is installed (by another thread) while
# the main thread already blocks in a call on a TCP socket connected before
# any handler existed; then SIGWINCH+SIGHUP come from another process every
# 30 ms (intr_lateinstall.c). Without sockfix every call fails with EINTR.
# With it, no EINTR may reach the program: neither in the calls made after
# the install nor in the call that was already blocked when the handler came
# (every call on a blocking TCP socket takes the handler-run count before it,
# handler or not, and the signal interrupts it only after its handler is
# wrapped). poll/select the same.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
P=$CT_BIN/intr_lateinstall
[ -x "$P" ] || fail "$P not built"

variants=(
    "read|-m read"
    "recv|-m recv"
    "readv|-m readv"
    "recvmsg|-m recvmsg"
    "poll|-m poll"
    "select|-m select"
    "connect|-m connect"
)

intr_start_cases variants without "$P"
intr_expect_cases variants without "without lib:" eintr 0 8000

intr_lib_or_skip

intr_start_cases variants with "$P"
i=0
for c in "${variants[@]}"; do
    label=${c%%|*}
    intr_finish "with$i"
    before=$(intr_field before) after=$(intr_field after)
    if [ -z "$before" ] || [ -z "$after" ]; then
        intr_bad "with lib: $label" "no result line ($(intr_rc_name "$R_RC"))"
    else
        bad=0
        if [ "$after" = 0 ]; then
            echo "ok    [with lib: $label]: no EINTR in the calls made after the first handler"
        else
            intr_bad "with lib: $label" "$after EINTR(s) in calls made after the first handler was installed"; bad=1
        fi
        if [ "$before" = 0 ]; then
            echo "ok    [with lib: $label]: the call blocked across the install was resumed"
        else
            intr_bad "with lib: $label" "the call already blocked when the first handler was installed got EINTR from an outside SIGWINCH/SIGHUP"; bad=1
        fi
        [ $bad = 1 ] || { intr_expect "with$i" "with lib: $label" ok 900 6000 && intr_need_hits "with lib: $label" WINCH 5; }
    fi
    i=$((i + 1))
done
intr_done
