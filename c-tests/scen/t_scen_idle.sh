# Scenario (seeds 000, 001): a MySQL client behind HAProxy sits idle past
# HAProxy's `timeout client` (2 s here), or HAProxy drops the session
# (failover), then sends its next query.
#
# Real servers in network namespaces (see scen_lib.sh): client -> HAProxy
# (mode tcp, timeout client/server 2s) -> MariaDB.
#
# Without the library the next query fails half-way with 2013 "Lost
# connection to server during query": did it run? With SOCKFIX_IDLE_CHECK=1s
# the write is refused before anything is sent: 2006 "Server has gone away",
# the query provably never ran (not in the table, not in the server's general
# log), and an interactive mariadb CLI session (which reconnects and retries
# after 2006, never after 2013) runs it exactly once. Clients: a libmariadb C
# program (c-tests/scen/scen_client.c.in), Perl DBD::MariaDB when installed, the
# mariadb CLI on a pty (scen_tty.py). A connection idle for less than
# HAProxy's timeout is not disturbed. Also: every write call (write, send,
# sendto, sendmsg, writev; SIGPIPE at its default) is refused with EPIPE and
# no SIGPIPE; not below the threshold, not outside SOCKFIX_DEST, and only
# for its destinations when set in a [dest] profile.
#
# libmariadb 3.3 with MYSQL_OPT_RECONNECT already polls the socket before a
# command and reconnects by itself: both halves succeed there (printed, and
# checked: the library must not break it).
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/scen/scen_lib.sh"
scen_init
scen_net
scen_db_start
scen_haproxy_start 2s
scen_client_ns 1

BAD=()
bad() { BAD+=("$*"); echo "BAD: $*"; }

# bg NAME lib|nolib [VAR=VALUE...] -- CMD...: run CMD in the client netns in
# the background, stdout in $CT_TMP/NAME.out, stderr in NAME.err; with the
# library its log goes to $CT_TMP/NAME.log.
BGPIDS=()
bg() {
    local name=$1 mode=$2 envs=()
    shift 2
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    if [ "$mode" = lib ]; then
        ip netns exec "$CNS" env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null \
            SOCKFIX_LOG="$CT_TMP/$name.log" "${envs[@]}" "$@" >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err" &
    else
        ip netns exec "$CNS" env -u LD_PRELOAD "${envs[@]}" "$@" >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err" &
    fi
    track $!
    BGPIDS+=($!)
}
# cli NAME lib|nolib SLEEP ID: an interactive mariadb session (on a pty: in
# batch mode the CLI never reconnects): "SELECT 1", then after SLEEP seconds
# an INSERT of row ID.
cli() {
    local name=$1 mode=$2 s=$3 id=$4 pre=()
    [ "$mode" = lib ] && pre=(LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null SOCKFIX_LOG="$CT_TMP/$name.log" SOCKFIX_IDLE_CHECK=1s)
    python3 "$CT_ROOT/c-tests/scen/scen_tty.py" "$s" "SELECT 1;" "INSERT INTO scen.t VALUES ($id, '$name');" -- \
        ip netns exec "$CNS" env -u LD_PRELOAD TERM=dumb MYSQL_HISTFILE=/dev/null "${pre[@]}" \
        mariadb --no-defaults --protocol=tcp -h "$VIP" -P 3306 -uroot >"$CT_TMP/$name.out" 2>"$CT_TMP/$name.err" &
    track $!
    BGPIDS+=($!)
}
wait_bg() {
    local p
    for p in "${BGPIDS[@]}"; do wait "$p"; done
    BGPIDS=()
}
# rows ID: how many rows with this id; ran ID: how often the server received
# the INSERT of this id (general log).
rows() { db_sql "SELECT COUNT(*) FROM scen.t WHERE id=$1"; }
ran() { grep -c "INSERT INTO scen.t VALUES ($1," "$DB_DIR/general.log"; }
out() { cat "$CT_TMP/$1.out"; }
# cli_err NAME: the MySQL error numbers the CLI printed, comma-separated.
cli_err() { grep -o 'ERROR [0-9]*' "$CT_TMP/$1.out" | awk '{print $2}' | paste -sd, -; }
# cli_re NAME: did the CLI reconnect ("Trying to reconnect")?
cli_re() { grep -q 'Trying to reconnect' "$CT_TMP/$1.out" && echo yes || echo no; }

I="SOCKFIX_IDLE_CHECK=1s"
C=$SCEN_CLIENT
t0=$(date +%s)

# --- Batch 1: idle 3 s (past timeout client 2s); and idle 1.5 s (under it).
bg A nolib -- "$C" idle "$VIP" 3306 3000 "SELECT 1" "INSERT INTO scen.t VALUES (101, 'A')"
bg B lib "$I" -- "$C" idle "$VIP" 3306 3000 "SELECT 1" "INSERT INTO scen.t VALUES (102, 'B')"
bg C nolib -- "$C" --reconnect idle "$VIP" 3306 3000 "SELECT 1" "INSERT INTO scen.t VALUES (103, 'C')"
bg D lib "$I" -- "$C" --reconnect idle "$VIP" 3306 3000 "SELECT 1" "INSERT INTO scen.t VALUES (104, 'D')"
cli E nolib 3 105
cli F lib 3 106
bg G lib "$I" -- "$C" idle "$VIP" 3306 1500 "SELECT 1" "INSERT INTO scen.t VALUES (107, 'G')"
bg H nolib -- "$C" idle "$VIP" 3306 1500 "SELECT 1" "INSERT INTO scen.t VALUES (108, 'H')"
# A real driver: Perl DBI with DBD::MariaDB (libmariadb), when installed.
PERL_OK=0
if perl -MDBI -MDBD::MariaDB -e 1 2>/dev/null; then
    PERL_OK=1
    cat >"$CT_TMP/dbd.pl" <<'PL'
use DBI;
my ($id) = @ARGV;
my $dbh = DBI->connect("DBI:MariaDB:host=203.0.113.1;port=3306", "root", "",
                       { RaiseError => 0, PrintError => 0, mariadb_auto_reconnect => 0 })
    or die "connect: $DBI::errstr\n";
my $q1 = $dbh->do("SELECT 1") ? 0 : $dbh->err;
sleep 3;
my $q2 = $dbh->do("INSERT INTO scen.t VALUES ($id, 'perl')") ? 0 : $dbh->err;
print "q1=$q1 q2=$q2\n";
PL
    bg P0 nolib -- perl "$CT_TMP/dbd.pl" 111
    bg P1 lib "$I" -- perl "$CT_TMP/dbd.pl" 112
fi

# Every write call, SIGPIPE at its default, idle 2.6 s past the timeout: the
# library refuses each with EPIPE and no SIGPIPE; below the threshold
# (IDLE_CHECK=5s) the write goes out as without the library.
W=$CT_BIN/scen_writer
[ -x "$W" ] || fail "$W was not built (c-tests/scen/scen_writer.c)"
for call in write send sendto sendmsg writev; do
    bg "W_$call" lib "$I" -- "$W" "$VIP" 3306 2600 "$call"
done
bg W_nolib nolib -- "$W" "$VIP" 3306 2600 write
bg W_5s lib SOCKFIX_IDLE_CHECK=5s -- "$W" "$VIP" 3306 2600 write
# Outside SOCKFIX_DEST: no idle check. In a [dest] profile only: checked there.
bg W_outside lib "$I" SOCKFIX_DEST=:3307 -- "$W" "$VIP" 3306 2600 write
printf 'SOCKFIX_KEEPIDLE=20\n[dest 203.0.113.0/24:3306]\nSOCKFIX_IDLE_CHECK=1s\n' >"$CT_TMP/idle.conf"
bg W_profile lib SOCKFIX_CONFIG="$CT_TMP/idle.conf" -- "$W" "$VIP" 3306 2600 write
bg W_profile_out lib SOCKFIX_CONFIG="$CT_TMP/idle.conf" -- "$W" "$VIP" 3307 2600 write
wait_bg

# --- Batch 2 (failover): HAProxy drops the sessions while the
# clients are idle 1.5 s (less than any timeout): "shutdown sessions server".
n0=$(grep -c 'Query.SELECT 1$' "$DB_DIR/general.log")
bg J nolib -- "$C" idle "$VIP" 3306 1500 "SELECT 1" "INSERT INTO scen.t VALUES (201, 'J')"
bg K lib "$I" -- "$C" idle "$VIP" 3306 1500 "SELECT 1" "INSERT INTO scen.t VALUES (202, 'K')"
cli L nolib 1.5 203
cli M lib 1.5 204
# Drop the sessions once all four clients ran their first query.
for i in $(seq 1 100); do
    [ "$(grep -c 'Query.SELECT 1$' "$DB_DIR/general.log")" -ge $((n0 + 4)) ] && break
    sleep 0.05
done
[ "$i" -lt 100 ] || fail "failover: the four clients did not all run their first query within 5 s"
sleep 0.2
ha_cmd "shutdown sessions server be_mysql/db1" >"$CT_TMP/ha_shutdown.out" 2>&1 || bad "HAProxy runtime API: $(cat "$CT_TMP/ha_shutdown.out")"
wait_bg
elapsed=$(( $(date +%s) - t0 ))

# --- Figures.
note "topology: client netns -> HAProxy 2.6 (mode tcp, timeout client 2s, server 2s) -> MariaDB $(mariadbd --version | awk '{print $3}')"
note "C client (libmariadb, no reconnect), idle 3 s, then INSERT:"
note "  without: $(out A)   row present=$(rows 101) received by server=$(ran 101)"
note "  with SOCKFIX_IDLE_CHECK=1s: $(out B)   row present=$(rows 102) received by server=$(ran 102)"
note "C client with MYSQL_OPT_RECONNECT, idle 3 s, then INSERT (libmariadb 3.3 polls before a command when reconnect is on):"
note "  without: $(out C)   row present=$(rows 103)"
note "  with:    $(out D)   row present=$(rows 104)"
[ $PERL_OK = 1 ] && note "Perl DBI + DBD::MariaDB $(perl -MDBD::MariaDB -e 'print $DBD::MariaDB::VERSION'), idle 3 s, then INSERT: without: $(out P0) row=$(rows 111); with: $(out P1) row=$(rows 112)"
note "interactive mariadb CLI (reconnects after 2006, never after 2013), idle 3 s, then INSERT:"
note "  without: errors=$(cli_err E) reconnected=$(cli_re E) row present=$(rows 105) received=$(ran 105)"
note "  with:    errors=$(cli_err F) reconnected=$(cli_re F) row present=$(rows 106) received=$(ran 106)"
note "idle 1.5 s (< timeout client), then INSERT: without: $(out H) row=$(rows 108); with: $(out G) row=$(rows 107)"
note "failover (HAProxy 'shutdown sessions' while idle 1.5 s):"
note "  C client without: $(out J) row=$(rows 201); with: $(out K) row=$(rows 202)"
note "  interactive CLI without: errors=$(cli_err L) reconnected=$(cli_re L) row=$(rows 203); with: errors=$(cli_err M) reconnected=$(cli_re M) row=$(rows 204)"
for n in B D F G K M; do
    log_lines "$CT_TMP/$n.log" | grep -q idle && note "log $n: $(log_lines "$CT_TMP/$n.log" | grep idle | tail -n 1)"
done
note "raw write calls, SIGPIPE default, idle 2.6 s past the timeout: without: $(out W_nolib); with IDLE_CHECK=5s (not reached): $(out W_5s)"
note "  outside DEST (IDLE_CHECK=1s DEST=:3307, to :3306): $(out W_outside); profile [dest 203.0.113.0/24:3306] IDLE_CHECK=1s: to :3306: $(out W_profile), to :3307: $(out W_profile_out)"
note "  with IDLE_CHECK=1s: $(for c in write send sendto sendmsg writev; do printf '%s ' "$(out "W_$c")"; done)"
note "elapsed ${elapsed}s"

# --- Without the library: the story as the seeds tell it.
[ "$(field q2 "$(out A)")" = 2013 ] || fail "without the library the query after the idle period should fail with 2013: $(out A) $(cat "$CT_TMP/A.err")"
[ "$(rows 101)" = 0 ] || fail "without the library the INSERT after HAProxy's timeout ran?"
[ "$(cli_err E)" = 2013 ] || fail "without the library the CLI should report 2013: $(cat "$CT_TMP/E.out" "$CT_TMP/E.err")"
[ "$(rows 105)" = 0 ] || fail "without the library the CLI's INSERT ran?"
[ "$(field q2 "$(out H)")" = 0 ] && [ "$(rows 108)" = 1 ] || fail "without the library, idle 1.5 s < timeout: $(out H)"
[ "$(field q2 "$(out J)")" = 2013 ] || fail "without the library, failover: expected 2013: $(out J)"
[ "$(cli_err L)" = 2013 ] && [ "$(rows 203)" = 0 ] || fail "without the library, failover, CLI: $(cat "$CT_TMP/L.out" "$CT_TMP/L.err")"
[ "$(field rc "$(out W_nolib)")" = 4 ] || fail "without the library a write into the closed idle connection should succeed (the kernel takes it): $(out W_nolib)"
[ "$(field q2 "$(out C)")" = 0 ] && [ "$(rows 103)" = 1 ] || note "libmariadb with MYSQL_OPT_RECONNECT did not recover by itself: $(out C)"

# --- With the library.
if [ $PERL_OK = 1 ]; then
    [ "$(field q2 "$(out P0)")" = 2013 ] || fail "without the library, DBD::MariaDB: expected 2013: $(out P0) $(cat "$CT_TMP/P0.err")"
    [ "$(field q2 "$(out P1)")" = 2006 ] && [ "$(rows 112)" = 0 ] || bad "IDLE_CHECK, DBD::MariaDB: expected 2006 and no row: $(out P1) rows=$(rows 112) $(cat "$CT_TMP/P1.err")"
fi
[ "$(field q2 "$(out B)")" = 2006 ] || bad "IDLE_CHECK=1s, idle 3 s past HAProxy's timeout: expected q2=2006 (write refused before sending), got: $(out B) stderr: $(cat "$CT_TMP/B.err")"
[ "$(rows 102)" = 0 ] && [ "$(ran 102)" = 0 ] || bad "IDLE_CHECK: the refused INSERT reached the server (row=$(rows 102), general log=$(ran 102))"
log_lines "$CT_TMP/B.log" | grep -qi 'idle' || bad "IDLE_CHECK: no log line about the refused write in $CT_TMP/B.log: $(tail -n 3 "$CT_TMP/B.log" 2>/dev/null)"
[ "$(field q2 "$(out D)")" = 0 ] && [ "$(rows 104)" = 1 ] || bad "IDLE_CHECK with MYSQL_OPT_RECONNECT: expected q2=0 and the row once: $(out D) rows=$(rows 104) stderr: $(cat "$CT_TMP/D.err")"
[ "$(rows 106)" = 1 ] && [ "$(ran 106)" = 1 ] || bad "IDLE_CHECK, interactive mariadb CLI: expected 2006, reconnect, the INSERT run exactly once; errors=$(cli_err F) rows=$(rows 106) received=$(ran 106) output: $(tail -c 400 "$CT_TMP/F.out")"
[ "$(cli_err F)" = 2006 ] && [ "$(cli_re F)" = yes ] || bad "IDLE_CHECK, mariadb CLI: expected the error 2006 then the reconnect, got errors=$(cli_err F) reconnected=$(cli_re F)"
[ "$(field q2 "$(out G)")" = 0 ] && [ "$(field tid2 "$(out G)")" = "$(field tid1 "$(out G)")" ] && [ "$(rows 107)" = 1 ] ||
    bad "IDLE_CHECK=1s, idle 1.5 s < HAProxy's timeout: the live connection must be used as is: $(out G) $(cat "$CT_TMP/G.err")"
[ "$(field q2 "$(out K)")" = 2006 ] && [ "$(rows 202)" = 0 ] || bad "IDLE_CHECK, failover: expected 2006 and no row: $(out K) rows=$(rows 202)"
[ "$(rows 204)" = 1 ] && [ "$(cli_err M)" = 2006 ] || bad "IDLE_CHECK, failover, interactive CLI: expected 2006 and the INSERT run once after the reconnect: errors=$(cli_err M) rows=$(rows 204)"
for c in write send sendto sendmsg writev; do
    o=$(out "W_$c")
    [ -n "$o" ] || bad "IDLE_CHECK, $c: the program died (SIGPIPE?) or printed nothing: $(cat "$CT_TMP/W_$c.err")"
    [ -z "$o" ] || [ "$(field rc "$o") $(field errno "$o")" = "-1 EPIPE" ] || bad "IDLE_CHECK=1s, $c after 2.6 s idle on a connection HAProxy closed: expected rc=-1 errno=EPIPE, got: $o"
done
[ "$(field rc "$(out W_outside)")" = 4 ] || bad "IDLE_CHECK=1s DEST=:3307: a connection to :3306 is outside DEST and must not be checked: $(out W_outside)"
[ "$(field rc "$(out W_profile)") $(field errno "$(out W_profile)")" = "-1 EPIPE" ] || bad "IDLE_CHECK=1s in a [dest 203.0.113.0/24:3306] profile: expected EPIPE to :3306: $(out W_profile) $(cat "$CT_TMP/W_profile.log" 2>/dev/null | tail -n 2)"
[ "$(field rc "$(out W_profile_out)")" = 4 ] || bad "IDLE_CHECK only in the :3306 profile: a connection to :3307 must not be checked: $(out W_profile_out)"
[ "$(field rc "$(out W_5s)")" = 4 ] || bad "IDLE_CHECK=5s, idle 2.6 s: the write should go out as without the library: $(out W_5s)"
for n in B D G K; do
    [ "$(wc -l <"$CT_TMP/$n.out")" = 1 ] && grep -q '^connect=' "$CT_TMP/$n.out" || bad "client $n: stdout is not its one line: $(head -c 300 "$CT_TMP/$n.out")"
done

[ ${#BAD[@]} = 0 ] || fail "${#BAD[@]} with-library check(s) failed (see BAD lines above)"
echo "ok: idle past HAProxy's timeout: 2013 without, 2006 (nothing sent) with; CLI reconnects and runs the query once"
