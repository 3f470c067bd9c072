# scripts/bench --quick, as a smoke test: the benchmark builds its helpers,
# measures every row against no preload and libkeepalive0 (when installed)
# and prints its table. Timed rows are not judged here (timed measurements
# never are in scripts/test); the deterministic ones are: the fast path of a
# hooked read/recv/write on a non-socket fd and on an unmatched socket must
# cost at most 10 user-space instructions over the bare call (callgrind).
source "$CT_ROOT/c-tests/common/lib.sh"
need valgrind
need gcc
[ -r /usr/include/valgrind/callgrind.h ] || skip "valgrind/callgrind.h missing"
[ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"
start=$(date +%s)
timeout -k 5 150 "$CT_ROOT/scripts/bench" --quick --no-install --lib "$CT_LIB" >"$CT_TMP/bench.out" 2>"$CT_TMP/bench.err"
rc=$?
note "scripts/bench --quick: exit $rc in $(( $(date +%s) - start )) s"
[ $rc = 0 ] || { tail -n 30 "$CT_TMP/bench.err"; cat "$CT_TMP/bench.out"; fail "scripts/bench --quick failed (exit $rc)"; }
sed 's/^/#   /' "$CT_TMP/bench.out"
grep -q '^| measure | no preload | libkeepalive0 | sockfix ' "$CT_TMP/bench.out" || fail "no table"
rows=$(grep -c '^| [^m-]' "$CT_TMP/bench.out")
[ "$rows" -ge 15 ] || fail "only $rows rows in the table"
grep -q '^| .*n/a.*| n/a | n/a | n/a |' "$CT_TMP/bench.out" && fail "a row has no measurement"
bad=$(grep -E '^\| `(read|recv|write)` on a( non-socket fd|n unmatched socket)' "$CT_TMP/bench.out" | grep -v '| PASS |$')
[ -z "$bad" ] || fail "the hooked fast path costs more than 10 instructions over a bare call: $bad"
[ "$(grep -cE '^\| `(read|recv|write)` on a( non-socket fd|n unmatched socket).*\| PASS \|$' "$CT_TMP/bench.out")" = 6 ] ||
    fail "the six fast-path rows are not all there"
echo "ok: scripts/bench --quick ran; the fast path is within 10 instructions of a bare call"
