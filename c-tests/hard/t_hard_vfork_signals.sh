# A vfork() child shares its parent's memory until it execs, and CPython's
# subprocess (which uses vfork) sets every handled signal back to SIG_DFL in
# the child before exec. The parent's own handlers must survive that: after
# the child has run, the parent's SIGHUP and SIGUSR1 (SA_SIGINFO) handlers
# must still run when the signals come, and sigaction() must still report
# them. Cases: a vfork child calling signal(SIG_DFL), sigaction(SIG_DFL),
# sigaction(SIG_IGN), sigaction(another handler), CPython's reset of every
# handled signal; a fork child; posix_spawn with POSIX_SPAWN_SETSIGDEF. And
# the real thing: python3 whose SIGHUP handler must run when a subprocess it
# started sends it SIGHUP (CPython's test_signal.test_interprocess_signal).
source "$CT_ROOT/c-tests/common/lib.sh"
[ -e "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings LD_PRELOAD
P=$CT_BIN/hard_vfork_signals
[ -x "$P" ] || fail "$P not built"
LIB=(env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null)

bad=0
for c in vfork-signal vfork-sigaction vfork-ignore vfork-handler vfork-all fork-signal spawn-setsigdef; do
    out=$(timeout -k 2 15 env -u LD_PRELOAD "$P" $c 2>&1); rc=$?
    [ $rc = 0 ] || fail "$c without the library: exit $rc: $out (the test itself is broken)"
    out=$(timeout -k 2 15 "${LIB[@]}" "$P" $c 2>&1); rc=$?
    if [ $rc = 0 ]; then
        note "ok: $out"
    else
        sig=""; [ $rc -gt 128 ] && sig=" (killed by SIG$(kill -l $((rc - 128)) 2>/dev/null))"
        echo "FAIL [$c]: with the library: exit $rc$sig: ${out:-no output}"
        bad=$((bad + 1))
    fi
done

if command -v python3 >/dev/null; then
    script='
import os, signal, subprocess, sys, time
got = []
signal.signal(signal.SIGHUP, lambda s, f: got.append(s))
child = subprocess.Popen([sys.executable, "-I", "-c", "import os, signal; os.kill(%d, signal.SIGHUP)" % os.getpid()])
child.wait()
deadline = time.monotonic() + 3
while not got and time.monotonic() < deadline:
    time.sleep(0.01)
print("handler runs:", len(got), "getsignal is the handler:", callable(signal.getsignal(signal.SIGHUP)))
sys.exit(0 if got else 1)
'
    out=$(timeout -k 2 20 env -u LD_PRELOAD python3 -c "$script" 2>&1); rc=$?
    [ $rc = 0 ] || fail "python3 without the library: exit $rc: $out (the test itself is broken)"
    out=$(timeout -k 2 20 "${LIB[@]}" python3 -c "$script" 2>&1); rc=$?
    if [ $rc = 0 ]; then note "ok: python3 subprocess sends SIGHUP: $out"
    else echo "FAIL [python3]: the SIGHUP a subprocess sent was lost with the library (exit $rc): $out"; bad=$((bad + 1)); fi
else
    note "python3 not installed: its case is left out"
fi
[ $bad = 0 ] || fail "$bad case(s): the parent's signal handlers did not survive its child"
echo "ok: the parent's handlers survive what vfork, fork and posix_spawn children do"
