# Helpers for the real-server scenarios, c-tests/scen/t_scen_*.sh (issue 3: seeds
# 000, 001, 003). Source it after lib.sh. Not a test itself.
#
# Topology, all in network namespaces this file creates and always deletes
# (names end in the test's PID):
#
#   client netns K: sfx-scen-cK-PID          haproxy netns: sfx-scen-h-PID
#     c0  192.0.2.(16K+2)/28  <-- veth -->     hcK 192.0.2.(16K+1)/28
#         2001:db8:cK::2/64                        2001:db8:cK::1/64
#         (+ 192.0.2.(16K+3..) from            lo  203.0.113.1, 203.0.113.2 (VIPs)
#          scen_client_addrs)                      2001:db8:53::1 (VIP6)
#     routes: 203.0.113.0/24 and               haproxy -db (mode tcp)
#     2001:db8:53::/64 via hcK                 hdb 198.51.100.1/24
#                                                   ^ veth
#                                              db netns: sfx-scen-db-PID
#                                                   v
#                                              d0  198.51.100.2/24, mariadbd :3306
#
# HAProxy listens on *:3306 (backend: MariaDB) and *:3307 (the same backend,
# a second port for the scope tests), IPv4 and IPv6, with timeout
# client/server 2s; its runtime API on $CT_TMP/haproxy.sock (ha_cmd).
#
#   scen_init                 checks, trap, compiles the C client ($SCEN_CLIENT)
#   scen_net                  the haproxy and db namespaces
#   scen_stack_new GEN [OPTS] fresh namespaces, mariadbd and haproxy
#   scen_db_start [OPTS]      mariadbd in the db netns; db_sql SQL runs SQL
#                             over its unix socket (outside any netns)
#   scen_haproxy_start [TIMEOUT [VAR=VALUE...]]  haproxy in its netns
#                             (timeout client/server), maybe under the library
#   scen_haproxy_stop
#   scen_client_ns K          a client netns; sets CNS (its name), CADDR (its
#                             address) and GW (the haproxy-side address)
#   scen_client_addrs K N     N more addresses on client K: sets CADDRS
#   scen_sink_start PORT...   a silent listener in the haproxy netns
#   in_ns NS CMD...           run CMD in NS without the library
#   in_ns_lib NS VAR=V... CMD run CMD in NS with the library (config /dev/null)
#   tw_count NS [SS-FILTER]   TIME_WAIT sockets in NS

VIP=203.0.113.1
VIP2=203.0.113.2
VIP6=2001:db8:53::1
DB_ADDR=198.51.100.2
NS_H=sfx-scen-h-$$
NS_DB=sfx-scen-db-$$
SCEN_NS=()
SCEN_GEN=

clear_stray_settings LD_PRELOAD

untrack() {
    local p keep=()
    for p in "${CT_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    CT_PIDS=("${keep[@]}")
}

scen_cleanup() {
    cleanup_pids
    local ns
    for ns in "${SCEN_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
}

# Leftovers of an earlier scenario run that was killed before its trap ran
# (only namespaces named by this file, whose test PID is gone): stop the
# processes inside them by PID, then delete them.
scen_reap() {
    local ns pid p
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^sfx-scen-[a-z]+[0-9]*-[0-9]+$'); do
        pid=${ns##*-}
        kill -0 "$pid" 2>/dev/null && continue
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}

scen_init() {
    [ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
    need ip
    need ss
    need haproxy
    need mariadbd
    need mariadb-install-db
    need mariadb
    need mariadb_config
    need gcc
    [ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"
    trap scen_cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    scen_reap
    SCEN_CLIENT=$CT_TMP/scen_client
    # shellcheck disable=SC2046
    gcc -O2 -g -Wall -Wextra -x c -o "$SCEN_CLIENT" "$CT_ROOT/c-tests/scen/scen_client.c.in" \
        $(mariadb_config --cflags --libs) 2>"$CT_TMP/cc.err" ||
        { cat "$CT_TMP/cc.err"; fail "cannot compile c-tests/scen/scen_client.c.in"; }
}

scen_addns() {
    SCEN_NS+=("$1")
    ip netns add "$1" || skip "cannot create network namespace $1"
    ip -n "$1" link set lo up || fail "lo up in $1"
}

scen_net() {
    NS_H=sfx-scen-h$SCEN_GEN-$$
    NS_DB=sfx-scen-db$SCEN_GEN-$$
    scen_addns "$NS_H"
    scen_addns "$NS_DB"
    ip -n "$NS_H" link add hdb type veth peer name d0 netns "$NS_DB" || fail "veth haproxy-db"
    ip -n "$NS_H" addr add 198.51.100.1/24 dev hdb
    ip -n "$NS_DB" addr add "$DB_ADDR/24" dev d0
    ip -n "$NS_H" link set hdb up
    ip -n "$NS_DB" link set d0 up
    ip -n "$NS_H" addr add "$VIP/32" dev lo
    ip -n "$NS_H" addr add "$VIP2/32" dev lo
    SCEN_V6=0
    if [ -d /proc/sys/net/ipv6 ] && [ "$(ip netns exec "$NS_H" cat /proc/sys/net/ipv6/conf/default/disable_ipv6)" = 0 ]; then
        ip -n "$NS_H" addr add "$VIP6/128" dev lo nodad && SCEN_V6=1
    fi
}

# scen_client_ns K (1..15)
scen_client_ns() {
    local k=$1
    CNS=sfx-scen-c$k-$$
    CADDR=192.0.2.$((16 * k + 2))
    GW=192.0.2.$((16 * k + 1))
    CADDRS=$CADDR
    scen_addns "$CNS"
    ip -n "$CNS" link add c0 type veth peer name hc$k netns "$NS_H" || fail "veth client $k"
    ip -n "$CNS" addr add "$CADDR/28" dev c0
    ip -n "$NS_H" addr add "$GW/28" dev hc$k
    ip -n "$CNS" link set c0 up
    ip -n "$NS_H" link set hc$k up
    ip -n "$CNS" route add 203.0.113.0/24 via "$GW" || fail "route in $CNS"
    # IPv6 (documentation prefix 2001:db8::/32), no duplicate address detection.
    CADDR6=2001:db8:c$k::2
    GW6=2001:db8:c$k::1
    if [ "$SCEN_V6" = 1 ]; then
        ip -n "$CNS" addr add "$CADDR6/64" dev c0 nodad &&
            ip -n "$NS_H" addr add "$GW6/64" dev hc$k nodad &&
            ip -n "$CNS" route add 2001:db8:53::/64 via "$GW6" dev c0 || fail "IPv6 addresses in $CNS"
    fi
    # Wait for the carrier on both ends (IPv4 has no DAD to wait for).
    local i
    for i in $(seq 1 50); do
        ip -n "$CNS" link show c0 | grep -q LOWER_UP &&
            ip -n "$NS_H" link show hc$k | grep -q LOWER_UP && return 0
        sleep 0.1
    done
    fail "client netns $k: veth has no carrier"
}

# scen_client_addrs K N: N extra source addresses on client K's veth.
scen_client_addrs() {
    local k=$1 n=$2 j a
    CADDRS=$CADDR
    for j in $(seq 1 "$n"); do
        a=192.0.2.$((16 * k + 2 + j))
        ip -n "sfx-scen-c$k-$$" addr add "$a/28" dev c0 || fail "addr $a"
        CADDRS=$CADDRS,$a
    done
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" env -u LD_PRELOAD "$@"; }
in_ns_lib() {
    local ns=$1; shift
    ip netns exec "$ns" env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null "$@"
}

tw_count() { local ns=$1; shift; ip netns exec "$ns" ss -Htan state time-wait "$@" | wc -l; }

DB_SOCK=
db_sql() { mariadb --no-defaults --socket="$DB_SOCK" -uroot -N -B -e "$1"; }
db_status() { db_sql "SHOW GLOBAL STATUS LIKE '$1'" | awk '{print $2}'; }

scen_db_start() {
    local dir=$CT_TMP/db$SCEN_GEN
    DB_DIR=$dir
    mkdir -p "$dir"
    DB_SOCK=$CT_TMP/db$SCEN_GEN.sock
    mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
        --auth-root-authentication-method=normal --innodb-log-file-size=4M >"$dir/install.log" 2>&1 ||
        { cat "$dir/install.log"; fail "mariadb-install-db failed"; }
    ip netns exec "$NS_DB" env -u LD_PRELOAD mariadbd --no-defaults --user=root --datadir="$dir/data" \
        --socket="$DB_SOCK" --port=3306 --bind-address=0.0.0.0 --skip-name-resolve --skip-log-bin \
        --max-connections=2000 --max-connect-errors=1000000 --innodb-buffer-pool-size=32M --innodb-log-file-size=4M \
        --pid-file="$dir/pid" --log-error="$dir/error.log" \
        --general-log=1 --general-log-file="$dir/general.log" "$@" >"$dir/stdout.log" 2>&1 &
    DB_PID=$!
    track "$DB_PID"
    local i
    for i in $(seq 1 150); do
        mariadb-admin --no-defaults --socket="$DB_SOCK" -uroot ping >/dev/null 2>&1 && break
        kill -0 "$DB_PID" 2>/dev/null || { tail -n 20 "$dir/error.log"; fail "mariadbd exited"; }
        sleep 0.1
    done
    [ "$i" -lt 150 ] || { tail -n 20 "$dir/error.log"; fail "mariadbd did not answer within 15 s"; }
    # root over TCP from HAProxy's address (198.51.100.1), no password.
    db_sql "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
            CREATE DATABASE scen; CREATE TABLE scen.t (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB;" ||
        fail "cannot prepare the database"
}

# scen_stack_new GEN [MARIADBD-OPTS]: stop the servers and their namespaces
# (by PID, by name), then a fresh haproxy + db pair: for figures that must
# not carry over from an earlier run (TIME_WAIT, server counters).
scen_stack_new() {
    SCEN_GEN=$1
    shift
    local p
    for p in ${HA_PID:-} ${DB_PID:-}; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        untrack "$p"
    done
    HA_PID='' DB_PID=''
    [ -n "${DB_DIR:-}" ] && rm -rf "$DB_DIR"
    if [ -n "${NS_H:-}" ] && ip netns list | grep -qw -- "$NS_H"; then
        ip netns del "$NS_H"
        ip netns del "$NS_DB"
    fi
    scen_net
    scen_db_start "$@"
    scen_haproxy_start 2s
}

# The general log (every statement the server received) is turned on/off
# around the scenario that needs it.
db_general_log() { db_sql "SET GLOBAL general_log=$1"; }

# scen_haproxy_start [TIMEOUT [VAR=VALUE...]]: timeout client/server
# (HAProxy syntax, default 2s); with VAR=VALUE settings, HAProxy runs under
# the library (as with a global install) with those settings.
scen_haproxy_start() {
    local t=${1:-2s} pre=(-u LD_PRELOAD)
    [ $# -gt 1 ] && { shift; pre=(LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null "$@"); }
    HA_SOCK=$CT_TMP/haproxy$SCEN_GEN.sock
    HA_CFG=$CT_TMP/haproxy$SCEN_GEN.cfg
    cat >"$HA_CFG" <<EOF
global
    maxconn 4000
    nbthread 1
    stats socket $HA_SOCK mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client $t
    timeout server $t
frontend fe_mysql
    bind :3306
    bind :3307
$( [ "$SCEN_V6" = 1 ] && printf '    bind :::3306 v6only\n    bind :::3307 v6only\n' )
    default_backend be_mysql
backend be_mysql
    server db1 $DB_ADDR:3306
EOF
    ip netns exec "$NS_H" env "${pre[@]}" haproxy -f "$HA_CFG" -db >"$CT_TMP/haproxy$SCEN_GEN.log" 2>&1 &
    HA_PID=$!
    track "$HA_PID"
    local i
    for i in $(seq 1 100); do
        [ "$(ip netns exec "$NS_H" ss -Htln 'sport = :3306' | wc -l)" -ge 1 ] && return 0
        kill -0 "$HA_PID" 2>/dev/null || { cat "$CT_TMP/haproxy$SCEN_GEN.log"; fail "haproxy exited"; }
        sleep 0.1
    done
    cat "$CT_TMP/haproxy$SCEN_GEN.log"
    fail "haproxy did not listen within 10 s"
}

# scen_sink_start PORT...: in the haproxy netns, a listener on each PORT that
# accepts, never sends, and closes only after the client did: every
# connection to it is closed by the client first, so it leaves a TIME_WAIT
# on the client exactly when the client did not close with SO_LINGER 0.
# (A MySQL server sends its greeting at once: a client that closes with that
# unread resets the connection, and TIME_WAIT is no witness there.)
scen_sink_start() {
    ip netns exec "$NS_H" env -u LD_PRELOAD python3 -c '
import selectors, socket, sys, time
sel = selectors.DefaultSelector()
for port in sys.argv[1:]:
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            l = socket.socket(fam, socket.SOCK_STREAM)
            l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            l.bind((addr, int(port)))
            l.listen(64)
            sel.register(l, selectors.EVENT_READ, None)
        except OSError:
            pass
end = time.monotonic() + 170
while time.monotonic() < end:
    for key, _ in sel.select(1):
        if key.data is None:
            c, _ = key.fileobj.accept()
            sel.register(c, selectors.EVENT_READ, 1)
        else:
            try:
                d = key.fileobj.recv(4096)
            except OSError:
                d = b""
            if not d:
                sel.unregister(key.fileobj)
                key.fileobj.close()
' "$@" >"$CT_TMP/sink.log" 2>&1 &
    SINK_PID=$!
    track "$SINK_PID"
    local i
    for i in $(seq 1 50); do
        [ "$(ip netns exec "$NS_H" ss -Htln "sport = :$1" | wc -l)" -ge 1 ] && return 0
        sleep 0.1
    done
    cat "$CT_TMP/sink.log"
    fail "the sink did not listen on :$1"
}

scen_haproxy_stop() {
    kill "$HA_PID" 2>/dev/null
    wait "$HA_PID" 2>/dev/null
    untrack "$HA_PID"
    HA_PID=
    local i
    for i in $(seq 1 50); do
        [ "$(ip netns exec "$NS_H" ss -Htln 'sport = :3306' | wc -l)" = 0 ] && return 0
        sleep 0.1
    done
    fail "haproxy still listening after it was stopped"
}

# ha_cmd CMD: a command on HAProxy's runtime API (stats socket).
ha_cmd() {
    python3 - "$HA_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
PY
}

# field NAME LINE: the value of NAME=... in LINE.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# A log line of the library: "sockfix[PID]: ", maybe after a timestamp.
log_lines() { grep -E "sockfix\[[0-9]+\]: " "$1" 2>/dev/null; }
