# A real MariaDB client under sockfix, traced: the options are set once per
# connection, before connect(), and nothing else of the client's changes
# (its own setsockopt calls still go through, after ours). The query works.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/real/mariadb_lib.sh"
need strace
need mariadb
mariadb_start

trace() {
    local out=$1; shift
    env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/nonexistent "$@" \
        strace -f -qq -o "$out" -e trace=socket,connect,setsockopt \
        mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$DB_PORT" -uroot -N -e 'select 40+2' \
        >"$out.stdout" 2>"$out.stderr" || { cat "$out.stderr"; fail "client failed under the library"; }
    [ "$(cat "$out.stdout")" = 42 ] || fail "query answered '$(cat "$out.stdout")', expected 42"
}

# Lines of the trace for the TCP socket, up to and including its connect().
before_connect() { awk '/socket\(AF_INET/ {on=1} on {print} on && /connect\(/ {exit}' "$1"; }
count() { grep -c -- "$2" "$1" || true; }

trace "$CT_TMP/default"
pre=$CT_TMP/default.pre
before_connect "$CT_TMP/default" >"$pre"
for opt in 'TCP_KEEPIDLE, \[15\]' 'TCP_KEEPINTVL, \[15\]' 'TCP_KEEPCNT, \[9\]' 'SO_KEEPALIVE, \[1\]'; do
    [ "$(count "$pre" "$opt")" = 1 ] || { cat "$CT_TMP/default"; fail "expected one $opt before connect"; }
done
[ "$(count "$pre" setsockopt)" = 4 ] || { cat "$pre"; fail "sockfix set more than the four keepalive options"; }
[ "$(count "$CT_TMP/default" TCP_KEEPIDLE)" = 1 ] || fail "TCP_KEEPIDLE set more than once"
# The client's own options, untouched and after ours (TCP_NODELAY is libmariadb's).
grep -q 'TCP_NODELAY, \[1\]' "$CT_TMP/default" || { cat "$CT_TMP/default"; fail "the client's own TCP_NODELAY is missing"; }
note "default: $(tr '\n' ' ' <"$pre" | sed 's/  */ /g')"

trace "$CT_TMP/ut" SOCKFIX_USER_TIMEOUT=auto SOCKFIX_KEEPIDLE=5
before_connect "$CT_TMP/ut" >"$CT_TMP/ut.pre"
grep -q 'TCP_USER_TIMEOUT, \[140000\]' "$CT_TMP/ut.pre" || { cat "$CT_TMP/ut"; fail "TCP_USER_TIMEOUT=auto (5 + 15 x 9 s) not set before connect"; }
grep -q 'TCP_KEEPIDLE, \[5\]' "$CT_TMP/ut.pre" || fail "SOCKFIX_KEEPIDLE=5 not applied"

# Without the library: the same query, no keepalive options before connect.
without_lib strace -f -qq -o "$CT_TMP/none" -e trace=socket,connect,setsockopt \
    mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$DB_PORT" -uroot -N -e 'select 1' >/dev/null
[ "$(before_connect "$CT_TMP/none" | grep -c setsockopt)" = 0 ] || fail "without the library the client set options before connect?"
echo "ok: options set once per connection, before connect; the client's own calls unchanged"
