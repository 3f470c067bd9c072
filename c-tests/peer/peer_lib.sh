# Helpers for c-tests/peer/t_peer_*.sh: CPython's own regression tests (sockets,
# signals, EINTR, selectors, asyncio) run without and then with the library,
# under aggressive settings, and must give the same result test by test.
# Source after lib.sh. Not a test itself (scripts/test only runs t_*.sh).
#
# These are the long part of scripts/test (about 5 minutes in all on 2
# cores); each t_peer_*.sh stays well under the harness's 180 s per test.

clear_stray_settings LD_PRELOAD
[ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"

# The settings the library runs with: keepalive after 1 s, user timeout,
# idle check after 1 s, keepalive on accepted connections too; the log off
# (so that any stray output would show).
PEER_SETTINGS=(SOCKFIX_KEEPIDLE=1 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=2 SOCKFIX_USER_TIMEOUT=auto
    SOCKFIX_IDLE_CHECK=1s SOCKFIX_SERVER=on SOCKFIX_LOG=off)
# Resources: walltime (test_eintr) and subprocess; not network (everything
# stays on loopback). The VSOCK tests are left out: on a VM with a vsock
# device their client cannot connect and the accept hangs, with or without
# the library. --timeout ends a hung test file (faulthandler) instead of
# letting the harness kill the whole run.
# (CPython 3.11's regrtest ignores -m when --ignore is also given: the
# re-runs of single tests below name them with -m alone.)
PEER_IGNORE=(--ignore '*VSOCK*')

# A python3 that has its own test suites (pyenv builds do; Debian's python3
# has test.support but the suites come with libpython3.X-testsuite, which
# scripts/test installs).
PEER_PY=
for _c in python3 /usr/bin/python3; do
    _p=$(command -v "$_c" 2>/dev/null) || continue
    if "$_p" -c 'import test.libregrtest, test.support, test.test_eintr, test.test_signal, test.test_socket, test.test_asyncio' \
        2>/dev/null; then PEER_PY=$_p; break; fi
done
unset _c _p
[ -n "$PEER_PY" ] || skip "no python3 with CPython's own test suites (Debian: apt-get install libpython3.$(/usr/bin/python3 -c 'import sys; print(sys.version_info[1])' 2>/dev/null || echo X)-testsuite)"
PEER_VER=$("$PEER_PY" -c 'import sys; print(sys.version.split()[0])')
# walltime exists from CPython 3.11.5 on (Debian 12's 3.11.2 runs those
# tests without asking).
PEER_RES=$("$PEER_PY" -c '
try:
    from test.libregrtest.cmdline import RESOURCE_NAMES as names
except ImportError:
    from test.libregrtest.utils import ALL_RESOURCES as names
print(",".join(r for r in ("walltime", "subprocess") if r in names))' 2>/dev/null)
PEER_ARGS=(--timeout "${PEER_TIMEOUT:-90}")
[ -n "$PEER_RES" ] && PEER_ARGS=(-u "$PEER_RES" "${PEER_ARGS[@]}")

need setsid
mkdir -p "$CT_TMP/tmp" "$CT_TMP/cwd"

# peer_regrtest with|without OUT TESTS-AND-OPTIONS...: python3 -m test, with
# OUT.xml (JUnit) and OUT.log; returns regrtest's exit status.
peer_regrtest() {
    local mode=$1 out=$2
    shift 2
    local pre=(env -u LD_PRELOAD)
    [ "$mode" = with ] && pre=(env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null "${PEER_SETTINGS[@]}")
    rm -f "$out.xml"
    # In a session of its own, so that whatever a hung test left behind
    # (orphaned interpreters) is ended with it: its process group, by id.
    (cd "$CT_TMP/cwd" && exec setsid "${pre[@]}" TMPDIR="$CT_TMP/tmp" "$PEER_PY" -m test "${PEER_ARGS[@]}" \
        --junit-xml "$out.xml" "$@" >"$out.log" 2>&1) &
    local rc
    PEER_PGID=$!
    wait $PEER_PGID
    rc=$?
    kill -KILL -- -$PEER_PGID 2>/dev/null
    PEER_PGID=
    return $rc
}
PEER_PGID=
peer_cleanup() { [ -n "$PEER_PGID" ] && kill -KILL -- -"$PEER_PGID" 2>/dev/null; cleanup_pids; }
trap peer_cleanup EXIT
trap 'exit 143' TERM INT HUP

peer_summary() { grep -E '^(Total tests|Result):|^== Tests result' "$1" | tr '\n' ' '; }

# peer_suite LABEL TEST...: the whole comparison; fails the test on any
# difference that persists over two re-runs of the differing tests alone.
peer_suite() {
    local label=$1
    shift
    local tests=("$@") t0 t1 t2 try m names=() pats=()
    # The library really is in the interpreter (and what it starts).
    local mapped
    mapped=$(env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null "${PEER_SETTINGS[@]}" "$PEER_PY" -c \
        'import subprocess, sys; print("/libsockfix.so" in open("/proc/self/maps").read(), subprocess.run(["cat", "/proc/self/maps"], capture_output=True).stdout.decode().count("/libsockfix.so") > 0)')
    [ "$mapped" = "True True" ] || fail "the library is not loaded in python3 and its children: $mapped"

    t0=$(date +%s)
    peer_regrtest without "$CT_TMP/without" "${PEER_IGNORE[@]}" "${tests[@]}"
    t1=$(date +%s)
    note "$label without the library ($PEER_VER): $((t1 - t0)) s: $(peer_summary "$CT_TMP/without.log")"
    [ -s "$CT_TMP/without.xml" ] || { tail -n 40 "$CT_TMP/without.log"; fail "$label: no results without the library (the run itself broke)"; }
    peer_regrtest with "$CT_TMP/with" "${PEER_IGNORE[@]}" "${tests[@]}"
    t2=$(date +%s)
    note "$label with the library: $((t2 - t1)) s: $(peer_summary "$CT_TMP/with.log")"
    [ -s "$CT_TMP/with.xml" ] || { tail -n 60 "$CT_TMP/with.log"; fail "$label: no results with the library (crash or hang: see above)"; }
    if grep -n 'sockfix\[' "$CT_TMP/with.log" >"$CT_TMP/stray"; then
        head -n 20 "$CT_TMP/stray"
        fail "$label: the library wrote into the tests' output with its log off"
    fi

    if "$PEER_PY" "$CT_ROOT/c-tests/peer/peer_compare.py" "$CT_TMP/without.xml" "$CT_TMP/with.xml" >"$CT_TMP/cmp"; then
        note "$(tail -n 1 "$CT_TMP/cmp")"
        return 0
    fi
    note "first comparison: $(tail -n 1 "$CT_TMP/cmp")"
    sed -n 's/^\(test[^:]*\): without=.*/\1/p' "$CT_TMP/cmp" >"$CT_TMP/names"
    sed 's/^/#   /' "$CT_TMP/cmp" | head -n 40
    # Timing-sensitive tests can fail once on a loaded machine, with or
    # without the library: run the differing ones again, alone, both ways.
    mapfile -t names <"$CT_TMP/names"
    [ ${#names[@]} -le 40 ] || { fail "$label: ${#names[@]} tests differ"; }
    for m in "${names[@]}"; do pats+=(-m "$m"); done
    for try in 1 2; do
        peer_regrtest without "$CT_TMP/re-without" "${tests[@]}" "${pats[@]}"
        peer_regrtest with "$CT_TMP/re-with" "${tests[@]}" "${pats[@]}"
        if "$PEER_PY" "$CT_ROOT/c-tests/peer/peer_compare.py" "$CT_TMP/re-without.xml" "$CT_TMP/re-with.xml" "$CT_TMP/names" >"$CT_TMP/recmp"; then
            note "re-run $try of the ${#names[@]} differing tests: same results both ways (flaky, not the library): $(tail -n 1 "$CT_TMP/recmp")"
            return 0
        fi
        note "re-run $try: $(tail -n 1 "$CT_TMP/recmp")"
        sed -n 's/^\(test[^:]*\): without=.*/\1/p' "$CT_TMP/recmp" >"$CT_TMP/names"
        mapfile -t names <"$CT_TMP/names"
        pats=()
        for m in "${names[@]}"; do pats+=(-m "$m"); done
    done
    cat "$CT_TMP/recmp"
    echo "--- with the library, last re-run:"
    grep -E -B2 -A25 '^(FAIL|ERROR):' "$CT_TMP/re-with.log" | head -n 120
    fail "$label: results differ with the library"
}
