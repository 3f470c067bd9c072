# Ctrl-C still stops a program blocked in a socket read (SOCKFIX_EINTR_PASS
# default): python3 blocked in sock.recv() on a loopback connection that never
# answers gets SIGINT after 0.5 s and must die of KeyboardInterrupt within 2 s,
# with the library as without it.  (Python retries EINTR itself, PEP 475, so
# the only way it can see Ctrl-C is the recv returning EINTR.)
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
need python3

# A background job of a non-interactive shell starts with SIGINT ignored;
# Python would then keep ignoring it.  Install the usual handler explicitly.
# A SIGWINCH handler too, so that the storm of a resumed signal is also seen.
script='
import signal, socket, sys, os
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGWINCH, lambda s, f: None)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
print("blocked", os.getpid(), flush=True)
try:
    c.recv(100)
    print("recv returned", flush=True)
    sys.exit(3)
except KeyboardInterrupt:
    print("KeyboardInterrupt caught", flush=True)
    raise
'

run_py() { # with|without
    local how=$1 out=$CT_TMP/py-$1.out pid t0 t1 rc i
    if [ "$how" = with ]; then
        with_lib python3 -c "$script" >"$out" 2>&1 &
    else
        without_lib python3 -c "$script" >"$out" 2>&1 &
    fi
    pid=$!
    track "$pid"
    # Wait (at most 5 s) until it is about to block in recv; the SIGINT comes
    # 0.5 s later.
    for i in $(seq 50); do grep -q '^blocked' "$out" && break; sleep 0.1; done
    grep -q '^blocked' "$out" || { cat "$out"; fail "$how lib: python did not start"; }
    # $! may be a subshell running with_lib; signal python itself.
    local job=$pid
    pid=$(sed -n 's/^blocked \([0-9]*\)$/\1/p' "$out")
    track "$pid"
    # A few resumable signals first, then Ctrl-C.
    sleep 0.2; kill -WINCH "$pid"; sleep 0.1; kill -WINCH "$pid"; sleep 0.2
    t0=$(date +%s%N)
    kill -INT "$pid"
    for i in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        wait "$job" 2>/dev/null
        cat "$out"
        fail "$how lib: python still blocked in recv() 2 s after SIGINT"
    fi
    wait "$job"
    rc=$?
    t1=$(( ($(date +%s%N) - t0) / 1000000 ))
    grep -q 'KeyboardInterrupt' "$out" || { cat "$out"; fail "$how lib: no KeyboardInterrupt (exit $rc)"; }
    [ "$rc" = 130 ] || [ "$rc" = 1 ] || { cat "$out"; fail "$how lib: exit status $rc, expected 130 (SIGINT)"; }
    echo "ok    [$how lib]: KeyboardInterrupt, exit $rc, ${t1} ms after SIGINT"
}

run_py without
intr_lib_or_skip
run_py with
intr_done
