# An exec'ed chain under the library: env -> bash -> coreutils (ls, cat, sort,
# head), python3 connecting a socket to a loopback listener, curl fetching from
# a local python http.server. Everything must exit 0 and print byte-for-byte
# the same stdout (and stderr) as without the library; with SOCKFIX_LOG set to
# a file, the log goes there and nowhere else. Python's socket must have got
# keepalive from the library (checked through a side file, not stdout).
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/live/live_lib.sh"
need curl
need python3
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"

DATA=$CT_TMP/data WEB=$CT_TMP/web
mkdir -p "$DATA" "$WEB"
printf 'alpha\nbeta\n' >"$DATA/a.txt"
printf 'gamma\n' >"$DATA/b.txt"
printf 'pear\napple\nfig\nbanana\ncherry\n' >"$DATA/c.txt"
printf 'hello from the web\n' >"$WEB/hello.txt"

# The web server runs without the library; its log goes to its own file.
env -u LD_PRELOAD "$PY" -u -m http.server 0 --bind 127.0.0.1 --directory "$WEB" \
    >"$CT_TMP/http.out" 2>"$CT_TMP/http.err" &
track $!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$CT_TMP/http.out" | head -n 1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || fail "http.server did not start: $(cat "$CT_TMP/http.out" "$CT_TMP/http.err")"

CHAIN='
set -e
cd "$DATA"
ls -1
ls -1 "$WEB"
cat a.txt b.txt
sort c.txt
cat c.txt | sort -r | head -n 3
"$PY" -c "
import os, socket
s = socket.create_connection((\"127.0.0.1\", int(os.environ[\"PORT\"])), timeout=10)
open(os.environ[\"KA_OUT\"], \"w\").write(str(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)))
s.sendall(b\"GET /hello.txt HTTP/1.0\r\nHost: x\r\n\r\n\")
data = b\"\"
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
head, _, body = data.partition(b\"\r\n\r\n\")
print(head.split(b\"\r\n\")[0].decode())
print(body.decode(), end=\"\")
"
curl -sS --max-time 10 "http://127.0.0.1:$PORT/hello.txt"
curl -sS --max-time 10 -o /dev/null -w "%{http_code}\n" "http://127.0.0.1:$PORT/missing"
echo "chain done"
'
export DATA WEB PY PORT

run_chain() { # NAME env-prefix...
    local name=$1; shift
    KA_OUT=$CT_TMP/ka.$name timeout -k 2 60 "$@" bash -c "$CHAIN" >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err"
    echo $?
}

rc0=$(run_chain nolib env -u LD_PRELOAD)
[ "$rc0" = 0 ] || { cat "$CT_TMP/nolib.out" "$CT_TMP/nolib.err"; fail "without the library the chain failed (exit $rc0)"; }
note "without the library:"; sed 's/^/#   /' "$CT_TMP/nolib.out"

compare() { # NAME
    local n=$1 rc=$2
    [ "$rc" = 0 ] || { echo "--- stdout:"; cat "$CT_TMP/$n.out"; echo "--- stderr:"; cat "$CT_TMP/$n.err"; fail "$n: the chain failed with the library (exit $rc)"; }
    if ! cmp -s "$CT_TMP/nolib.out" "$CT_TMP/$n.out"; then
        diff <(od -c "$CT_TMP/nolib.out") <(od -c "$CT_TMP/$n.out") | head -n 20
        fail "$n: stdout differs from the run without the library"
    fi
    if ! cmp -s "$CT_TMP/nolib.err" "$CT_TMP/$n.err"; then
        echo "--- stderr without:"; cat "$CT_TMP/nolib.err"; echo "--- stderr with:"; head -n 20 "$CT_TMP/$n.err"
        fail "$n: stderr differs from the run without the library"
    fi
    [ "$(cat "$CT_TMP/ka.$n" 2>/dev/null)" = 1 ] || fail "$n: python's socket has SO_KEEPALIVE=$(cat "$CT_TMP/ka.$n" 2>/dev/null): the library did not act inside the chain"
    note "$n: identical stdout ($(wc -c <"$CT_TMP/$n.out") bytes) and stderr, python socket keepalive=1"
}
[ "$(cat "$CT_TMP/ka.nolib")" = 0 ] || note "python's socket has keepalive even without the library?"

rc=$(run_chain lib "${LIB[@]}")
compare lib "$rc"

rc=$(run_chain lib_logged "${LIB[@]}" SOCKFIX_LOG="$CT_TMP/sockfix.log" SOCKFIX_KEEPIDLE=30s SOCKFIX_USER_TIMEOUT=auto)
compare lib_logged "$rc"
[ -s "$CT_TMP/sockfix.log" ] || fail "SOCKFIX_LOG=file: nothing was logged for the chain's connections"
grep -qE 'sockfix\[[0-9]+\]: ' "$CT_TMP/sockfix.log" || { head -n 5 "$CT_TMP/sockfix.log"; fail "log lines do not carry 'sockfix[PID]: '"; }
note "log: $(wc -l <"$CT_TMP/sockfix.log") lines, e.g.: $(head -n 1 "$CT_TMP/sockfix.log")"
echo "ok: the exec chain behaves identically with the library"
