# Scenario: the scopes of issue 3, against HAProxy and MariaDB in network
# namespaces (see scen_lib.sh). HAProxy listens on 203.0.113.1 and
# 203.0.113.2 (and 2001:db8:53::1), ports 3306 and 3307, and on the client's
# gateway address.
#   SOCKFIX_DEST: a connection outside it gets nothing: no keepalive options
#     (opt_probe's getsockopt), no SO_LINGER (libmariadb's socket, and a
#     TIME_WAIT on close, against a silent listener), no source address from
#     SOCKFIX_BIND; inside it, all.
#     Every syntax: CIDR, CIDR:PORT, :PORT, plain IP, [IPv6-CIDR]:PORT,
#     lists; IPv4-mapped IPv6 destinations match IPv4 rules.
#   SOCKFIX_SKIP_PROGRAMS / SOCKFIX_PROGRAMS: by the base name of argv[0] or
#     of the executable; a program out of scope gets nothing (no log lines
#     either); the mariadb CLI in or out of scope, seen by its TIME_WAIT.
#   Profiles: [dest ...] sections in SOCKFIX_CONFIG override KEEPIDLE (and
#     LINGER) for their destinations only; first match wins; SOCKFIX_DEST
#     still comes first.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/scen/scen_lib.sh"
PROBE=$CT_BIN/opt_probe
[ -x "$PROBE" ] || fail "$PROBE was not built (c-tests/opt/opt_probe.c)"
scen_init
scen_net
scen_db_start --general-log=0
scen_haproxy_start 2s
scen_sink_start 3309 3310
scen_client_ns 1
scen_client_addrs 1 1
A1=$CADDR
A2=${CADDRS#*,}

BAD=()
bad() { BAD+=("$*"); echo "BAD: $*"; }
C=$SCEN_CLIENT

# The kernel's defaults in the client netns: what a socket nobody touched has.
K_IDLE=$(ip netns exec "$CNS" cat /proc/sys/net/ipv4/tcp_keepalive_time)
UNTOUCHED="keepalive=0 idle=$K_IDLE"
SET7="keepalive=1 idle=7"

# p [VAR=VALUE...] -- ADDR PORT: opt_probe with the library in the client
# netns; prints "keepalive=K idle=I" (or the failure).
p() {
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local out
    out=$(in_ns_lib "$CNS" "${envs[@]}" "$PROBE" tcp "$@" 2>&1)
    [ "$(field connect "$out")" = ok ] || { echo "connect failed: $out"; return; }
    echo "keepalive=$(field keepalive "$out") idle=$(field idle "$out")"
}
# expect DESC WANT GOT
expect() {
    if [ "$2" = "$3" ]; then note "ok: $1: $3"; else bad "$1: expected '$2', got '$3'"; fi
}

t0=$(date +%s)
# --- SOCKFIX_DEST, one destination: all of it inside, nothing outside.
D=(SOCKFIX_DEST=203.0.113.1:3306 SOCKFIX_KEEPIDLE=7 SOCKFIX_LINGER=0 "SOCKFIX_BIND=$A2")
LOG=$CT_TMP/dest.log
expect "DEST=$VIP:3306, to $VIP:3306" "$SET7" "$(p "${D[@]}" -- "$VIP" 3306)"
expect "DEST=$VIP:3306, to $VIP:3307 (other port)" "$UNTOUCHED" "$(p "${D[@]}" -- "$VIP" 3307)"
expect "DEST=$VIP:3306, to $VIP2:3306 (other address)" "$UNTOUCHED" "$(p "${D[@]}" -- "$VIP2" 3306)"
expect "DEST=$VIP:3306, to ::ffff:$VIP:3306 (IPv4-mapped)" "$SET7" "$(p "${D[@]}" -- "::ffff:$VIP" 3306)"
# TIME_WAIT as the witness of SO_LINGER: against the silent listener (the
# client always closes first there), DEST=$VIP:3309 with LINGER=0.
twp() { ip netns exec "$CNS" ss -Htan state time-wait "( dst $1 and dport = :$2 )" | wc -l; }
DS=("SOCKFIX_DEST=$VIP:3309" SOCKFIX_LINGER=0)
for i in 1 2 3; do
    in_ns_lib "$CNS" "${DS[@]}" "$PROBE" tcp "$VIP" 3309 >/dev/null 2>&1
    in_ns_lib "$CNS" "${DS[@]}" "$PROBE" tcp "$VIP" 3310 >/dev/null 2>&1
    in_ns_lib "$CNS" "${DS[@]}" "$PROBE" tcp "$VIP2" 3309 >/dev/null 2>&1
    in_ns "$CNS" "$PROBE" tcp "$VIP" 3309 >/dev/null 2>&1
done
sleep 0.2
note "TIME_WAIT on the client after 3 connections each, DEST=$VIP:3309 LINGER=0: to $VIP:3309: $(twp "$VIP" 3309) (3 more connections made there without the library: all TIME_WAIT are theirs), to $VIP:3310: $(twp "$VIP" 3310), to $VIP2:3309: $(twp "$VIP2" 3309)"
[ "$(twp "$VIP" 3309)" = 3 ] || bad "DEST=$VIP:3309 LINGER=0: expected only the 3 TIME_WAIT of the connections made without the library, got $(twp "$VIP" 3309)"
[ "$(twp "$VIP" 3310)" = 3 ] && [ "$(twp "$VIP2" 3309)" = 3 ] || bad "connections outside DEST should close normally (3 TIME_WAIT each): to $VIP:3310 $(twp "$VIP" 3310), to $VIP2:3309 $(twp "$VIP2" 3309)"
# libmariadb's socket: source address and SO_LINGER (the client sets
# SO_KEEPALIVE itself, but not TCP_KEEPIDLE).
IN=$(in_ns_lib "$CNS" SOCKFIX_LOG="$LOG" "${D[@]}" "$C" probe "$VIP" 3306 2>&1)
OUTP=$(in_ns_lib "$CNS" SOCKFIX_LOG="$LOG" "${D[@]}" "$C" probe "$VIP" 3307 2>&1)
OUTA=$(in_ns_lib "$CNS" SOCKFIX_LOG="$LOG" "${D[@]}" "$C" probe "$VIP2" 3306 2>&1)
note "libmariadb, DEST=$VIP:3306 LINGER=0 BIND=$A2: to $VIP:3306: $IN"
note "                                     to $VIP:3307: $OUTP"
note "                                     to $VIP2:3306: $OUTA"
[[ $(field local "$IN") == "$A2:"* ]] && [ "$(field linger "$IN")" = 1:0 ] && [ "$(field idle "$IN")" = 7 ] ||
    bad "DEST=$VIP:3306: the matched connection should get BIND=$A2, SO_LINGER 1:0 and KEEPIDLE 7: $IN"
for o in "$OUTP" "$OUTA"; do
    [[ $(field local "$o") == "$A1:"* ]] && [ "$(field linger "$o")" = 0:0 ] && [ "$(field idle "$o")" = "$K_IDLE" ] ||
        bad "DEST=$VIP:3306: a connection outside it got something (expected source $A1, linger 0:0, idle $K_IDLE): $o"
done
if grep -E "$VIP2|:3307" "$LOG" >/dev/null 2>&1; then
    bad "the log mentions connections outside DEST: $(grep -E "$VIP2|:3307" "$LOG" | head -n 3)"
fi
log_lines "$LOG" | grep -q "$VIP:3306" || bad "no log line for the matched connection in $LOG: $(head -n 3 "$LOG" 2>/dev/null)"

# --- SOCKFIX_DEST syntaxes.
K=SOCKFIX_KEEPIDLE=7
expect "DEST=:3307, to $VIP:3307" "$SET7" "$(p SOCKFIX_DEST=:3307 $K -- "$VIP" 3307)"
expect "DEST=:3307, to $VIP:3306" "$UNTOUCHED" "$(p SOCKFIX_DEST=:3307 $K -- "$VIP" 3306)"
expect "DEST=203.0.113.0/24:3306, to $VIP2:3306" "$SET7" "$(p SOCKFIX_DEST=203.0.113.0/24:3306 $K -- "$VIP2" 3306)"
expect "DEST=203.0.113.0/24:3306, to $VIP2:3307" "$UNTOUCHED" "$(p SOCKFIX_DEST=203.0.113.0/24:3306 $K -- "$VIP2" 3307)"
expect "DEST=203.0.113.0/24:3306, to $GW:3306" "$UNTOUCHED" "$(p SOCKFIX_DEST=203.0.113.0/24:3306 $K -- "$GW" 3306)"
expect "DEST=203.0.113.0/24, to $VIP:3307" "$SET7" "$(p SOCKFIX_DEST=203.0.113.0/24 $K -- "$VIP" 3307)"
expect "DEST=$VIP2 (plain IP), to $VIP2:3307" "$SET7" "$(p SOCKFIX_DEST=$VIP2 $K -- "$VIP2" 3307)"
expect "DEST=$VIP2 (plain IP), to $VIP:3307" "$UNTOUCHED" "$(p SOCKFIX_DEST=$VIP2 $K -- "$VIP" 3307)"
L="192.0.2.0/24,$VIP2:3307"
expect "DEST=$L, to $GW:3306" "$SET7" "$(p "SOCKFIX_DEST=$L" $K -- "$GW" 3306)"
expect "DEST=$L, to $VIP2:3307" "$SET7" "$(p "SOCKFIX_DEST=$L" $K -- "$VIP2" 3307)"
expect "DEST=$L, to $VIP2:3306" "$UNTOUCHED" "$(p "SOCKFIX_DEST=$L" $K -- "$VIP2" 3306)"
if [ "$SCEN_V6" = 1 ]; then
    L6="[2001:db8:53::/64]:3306"
    expect "DEST=$L6, to [$VIP6]:3306" "$SET7" "$(p "SOCKFIX_DEST=$L6" $K -- "$VIP6" 3306)"
    expect "DEST=$L6, to [$VIP6]:3307" "$UNTOUCHED" "$(p "SOCKFIX_DEST=$L6" $K -- "$VIP6" 3307)"
    expect "DEST=$L6, to $VIP:3306" "$UNTOUCHED" "$(p "SOCKFIX_DEST=$L6" $K -- "$VIP" 3306)"
    expect "DEST=[$VIP6]:3307, to [$VIP6]:3307" "$SET7" "$(p "SOCKFIX_DEST=[$VIP6]:3307" $K -- "$VIP6" 3307)"
    expect "DEST=$VIP:3306, to [$VIP6]:3306" "$UNTOUCHED" "$(p "SOCKFIX_DEST=$VIP:3306" $K -- "$VIP6" 3306)"
fi

# --- Programs. opt_probe run as itself, and under another argv[0] (dbtool).
as_dbtool() { # as_dbtool VAR=VALUE... : opt_probe with argv[0]=dbtool
    local out
    out=$(in_ns_lib "$CNS" "$@" bash -c 'exec -a dbtool "$0" "$@"' "$PROBE" tcp "$VIP" 3306 2>&1)
    echo "keepalive=$(field keepalive "$out") idle=$(field idle "$out")"
}
expect "SKIP_PROGRAMS=opt_probe" "$UNTOUCHED" "$(p SOCKFIX_SKIP_PROGRAMS=opt_probe $K -- "$VIP" 3306)"
expect "SKIP_PROGRAMS=mariadb,dbtool (opt_probe not listed)" "$SET7" "$(p SOCKFIX_SKIP_PROGRAMS=mariadb,dbtool $K -- "$VIP" 3306)"
expect "PROGRAMS=mariadb (opt_probe not listed)" "$UNTOUCHED" "$(p SOCKFIX_PROGRAMS=mariadb $K -- "$VIP" 3306)"
expect "PROGRAMS=haproxy,opt_probe" "$SET7" "$(p SOCKFIX_PROGRAMS=haproxy,opt_probe $K -- "$VIP" 3306)"
expect "PROGRAMS=dbtool, argv[0]=dbtool" "$SET7" "$(as_dbtool SOCKFIX_PROGRAMS=dbtool $K)"
expect "PROGRAMS=opt_probe (the executable), argv[0]=dbtool" "$SET7" "$(as_dbtool SOCKFIX_PROGRAMS=opt_probe $K)"
expect "SKIP_PROGRAMS=dbtool, argv[0]=dbtool" "$UNTOUCHED" "$(as_dbtool SOCKFIX_SKIP_PROGRAMS=dbtool $K)"
# Out of scope: nothing at all, not even a log line.
rm -f "$CT_TMP/skip.log"
in_ns_lib "$CNS" SOCKFIX_LOG="$CT_TMP/skip.log" SOCKFIX_SKIP_PROGRAMS=opt_probe $K SOCKFIX_LINGER=0 "$PROBE" tcp "$VIP" 3306 >/dev/null 2>&1
[ ! -s "$CT_TMP/skip.log" ] || bad "SKIP_PROGRAMS=opt_probe: the skipped program still logged: $(head -n 3 "$CT_TMP/skip.log")"
# The mariadb CLI with LINGER=0, in and out of scope: seen in the log (its
# TIME_WAIT is no witness: MariaDB may close first after COM_QUIT).
cli_log() { # [CLI=mysql] cli_log VAR=VALUE...: the log lines one CLI run wrote
    rm -f "$CT_TMP/cli.log"
    in_ns_lib "$CNS" "$@" SOCKFIX_LOG="$CT_TMP/cli.log" SOCKFIX_LINGER=0 \
        "${CLI:-mariadb}" --no-defaults --protocol=tcp -h "$VIP" -P 3307 -uroot -N -e 'SELECT 1' >"$CT_TMP/cli.out" 2>"$CT_TMP/cli.err"
    [ "$(cat "$CT_TMP/cli.out")" = 1 ] || bad "mariadb CLI failed under the library ($*): $(cat "$CT_TMP/cli.out" "$CT_TMP/cli.err")"
    log_lines "$CT_TMP/cli.log" | wc -l
}
n=$(cli_log SOCKFIX_PROGRAMS=mariadb)
note "PROGRAMS=mariadb: the CLI's log: $(log_lines "$CT_TMP/cli.log" | head -n 1)"
log_lines "$CT_TMP/cli.log" | grep -q "$VIP:3307.*SO_LINGER" || bad "PROGRAMS=mariadb: the mariadb CLI got no SO_LINGER (log: $(head -n 2 "$CT_TMP/cli.log" 2>/dev/null))"
expect "PROGRAMS=opt_probe: log lines of the mariadb CLI" 0 "$(cli_log SOCKFIX_PROGRAMS=opt_probe)"
expect "SKIP_PROGRAMS=mariadb: log lines of the mariadb CLI" 0 "$(cli_log SOCKFIX_SKIP_PROGRAMS=mariadb)"
# Debian's mysql is a symlink to mariadb: argv[0] says mysql, the executable
# mariadb; either name puts it in scope, or out.
if [ "$(readlink -f "$(command -v mysql 2>/dev/null)" 2>/dev/null)" = "$(readlink -f "$(command -v mariadb)")" ]; then
    [ "$(CLI=mysql cli_log SOCKFIX_PROGRAMS=mysql)" -ge 1 ] || bad "PROGRAMS=mysql: 'mysql' (a symlink to mariadb) was not in scope"
    [ "$(CLI=mysql cli_log SOCKFIX_PROGRAMS=mariadb)" -ge 1 ] || bad "PROGRAMS=mariadb: 'mysql' (its executable is mariadb) was not in scope"
    expect "SKIP_PROGRAMS=mysql: log lines of 'mysql' (-> mariadb)" 0 "$(CLI=mysql cli_log SOCKFIX_SKIP_PROGRAMS=mysql)"
    expect "SKIP_PROGRAMS=mariadb: log lines of 'mysql' (-> mariadb)" 0 "$(CLI=mysql cli_log SOCKFIX_SKIP_PROGRAMS=mariadb)"
    note "ok: 'mysql' (symlink to mariadb) answers to both names in PROGRAMS and SKIP_PROGRAMS"
fi

# --- Profiles: [dest ...] sections in the config file.
CONF=$CT_TMP/profiles.conf
cat >"$CONF" <<EOF
# global
SOCKFIX_KEEPIDLE=20
[dest $VIP:3306]
SOCKFIX_KEEPIDLE=7
SOCKFIX_LINGER=0
[dest 203.0.113.0/24, [2001:db8:53::]/64:3307]
SOCKFIX_KEEPIDLE=9
EOF
pc() { p SOCKFIX_CONFIG="$CONF" "$@"; }
expect "profile [dest $VIP:3306], to $VIP:3306" "keepalive=1 idle=7" "$(pc -- "$VIP" 3306)"
expect "profile, to $VIP:3307 (second section, first match)" "keepalive=1 idle=9" "$(pc -- "$VIP" 3307)"
expect "profile, to $VIP2:3306 (second section)" "keepalive=1 idle=9" "$(pc -- "$VIP2" 3306)"
expect "profile, to $GW:3306 (no section: global)" "keepalive=1 idle=20" "$(pc -- "$GW" 3306)"
if [ "$SCEN_V6" = 1 ]; then
    expect "profile, to [$VIP6]:3307 (second section)" "keepalive=1 idle=9" "$(pc -- "$VIP6" 3307)"
    expect "profile, to [$VIP6]:3306 (no section: global)" "keepalive=1 idle=20" "$(pc -- "$VIP6" 3306)"
fi
IN=$(in_ns_lib "$CNS" SOCKFIX_CONFIG="$CONF" "$C" probe "$VIP" 3306 2>&1)
OUTP=$(in_ns_lib "$CNS" SOCKFIX_CONFIG="$CONF" "$C" probe "$VIP" 3307 2>&1)
expect "profile LINGER=0, libmariadb to $VIP:3306" "1:0 7" "$(field linger "$IN") $(field idle "$IN")"
expect "profile, libmariadb to $VIP:3307 (no LINGER in its section)" "0:0 9" "$(field linger "$OUTP") $(field idle "$OUTP")"
# SOCKFIX_DEST comes first: a section cannot pull a destination back in.
expect "DEST=:3307 with the profiles, to $VIP:3306" "$UNTOUCHED" "$(pc SOCKFIX_DEST=:3307 -- "$VIP" 3306)"
expect "DEST=:3307 with the profiles, to $VIP:3307" "keepalive=1 idle=9" "$(pc SOCKFIX_DEST=:3307 -- "$VIP" 3307)"
note "elapsed $(( $(date +%s) - t0 ))s"

[ ${#BAD[@]} = 0 ] || fail "${#BAD[@]} with-library check(s) failed (see BAD lines above)"
echo "ok: DEST, PROGRAMS, SKIP_PROGRAMS and [dest] profiles scope every setting"
