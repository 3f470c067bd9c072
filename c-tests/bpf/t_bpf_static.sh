# The eBPF companion gives a statically linked program (which no preload
# library reaches) the configured keepalive, user timeout and connect
# timeout, read back with getsockopt by the program itself; a program that
# sets its own keepalive time before connecting keeps it; a process in
# another cgroup gets nothing; a copy on a cgroup below wins there;
# SOCKFIX_DEST leaves other destinations alone
# and a [dest] profile applies to its own. Enabling again updates the
# settings in place (no moment without them), and enable/status/disable are
# idempotent and leave nothing pinned or attached.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"

bpf_static_client

bpf_cgroups on off
bpf_listen $((BPF_PORTS + 11))
bpf_listen $((BPF_PORTS + 12))

"$SFX" bpf status >"$CT_TMP/status0.out"
st=$?
# Another copy (the host's) may be attached outside this test; ours is not yet.
grep -q "sockfix-test-on-$$" "$CT_TMP/status0.out" && fail "attached before enable: $(cat "$CT_TMP/status0.out")"
[ $st = 3 ] || [ $st = 0 ] || fail "status before enable: exit $st"

"$SFX" bpf enable --cgroup "$CG_on" --keepalive 7,2,3 --user-timeout 20s --connect-timeout 5s \
    >"$CT_TMP/enable.out" 2>&1 || fail "enable: $(cat "$CT_TMP/enable.out")"
note "$(cat "$CT_TMP/enable.out")"

out=$(timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "outside the cgroup: $out"
expect_opts "$out" keepalive=0 user_timeout=0
out=$(in_cgroup "$CG_off" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "in a sibling cgroup: $out"
expect_opts "$out" keepalive=0 user_timeout=0

out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "static client in the cgroup: $out"
expect_opts "$out" keepalive=1 idle=7 intvl=2 cnt=3 user_timeout=20000 syncnt=2
out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11)) own-idle 100) || fail "client: $out"
note "one that sets TCP_KEEPIDLE=100 itself: $out"
expect_opts "$out" keepalive=1 idle=100 intvl=2 cnt=3
out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" ::ffff:127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "IPv4-mapped destination on an IPv6 socket: $out"
expect_opts "$out" keepalive=1 idle=7

# A copy on a cgroup below runs first, and its settings win there.
bpf_child_cgroup "$CG_on" inner
"$SFX" bpf enable --cgroup "$CG_inner" --keepalive 8,2,3 --user-timeout 30s >"$CT_TMP/inner.out" 2>&1 ||
    fail "enable on the inner cgroup: $(cat "$CT_TMP/inner.out")"
out=$(in_cgroup "$CG_inner" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "in a cgroup below, with its own copy: $out"
expect_opts "$out" keepalive=1 idle=8 intvl=2 cnt=3 user_timeout=30000
# ... for the connections it applies to: one its SOCKFIX_DEST leaves out
# gets the outer copy's settings.
"$SFX" bpf enable --cgroup "$CG_inner" --dest 10.0.0.0/8 --keepalive 8,2,3 >/dev/null 2>&1 ||
    fail "enable --dest on the inner cgroup"
out=$(in_cgroup "$CG_inner" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "below, outside the inner copy's SOCKFIX_DEST: $out"
expect_opts "$out" keepalive=1 idle=7 user_timeout=20000
"$SFX" bpf disable --cgroup "$CG_inner" >/dev/null || fail "disable the inner copy"
out=$(in_cgroup "$CG_inner" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "the same cgroup, its copy gone: $out"
expect_opts "$out" keepalive=1 idle=7 user_timeout=20000

# The same enable again, with other settings: updated in place.
"$SFX" bpf enable --cgroup "$CG_on" --keepalive 9,2,3 >"$CT_TMP/enable2.out" 2>&1 ||
    fail "enable again: $(cat "$CT_TMP/enable2.out")"
grep -q "settings updated" "$CT_TMP/enable2.out" || fail "enable again did not update: $(cat "$CT_TMP/enable2.out")"
out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
expect_opts "$out" keepalive=1 idle=9 user_timeout=0 syncnt=6
[ "$(ls /sys/fs/bpf/sockfix | grep -c '^cg')" -ge 1 ] || fail "nothing pinned"

# SOCKFIX_DEST and a [dest] profile, from a config file, as the library reads them.
cat >"$CT_TMP/sockfix.conf" <<EOF
SOCKFIX_DEST=127.0.0.1:$((BPF_PORTS + 11)), [::1]:$((BPF_PORTS + 12))
SOCKFIX_KEEPIDLE=5
[dest [::1]:$((BPF_PORTS + 12))]
SOCKFIX_KEEPIDLE=42
EOF
SOCKFIX_CONFIG=$CT_TMP/sockfix.conf "$SFX" bpf enable --cgroup "$CG_on" >"$CT_TMP/enable3.out" 2>&1 ||
    fail "enable with a config file: $(cat "$CT_TMP/enable3.out")"
out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
note "in SOCKFIX_DEST: $out"
expect_opts "$out" keepalive=1 idle=5
out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 12))) || fail "client: $out"
note "outside SOCKFIX_DEST: $out"
expect_opts "$out" keepalive=0 idle=7200
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    bpf_listen $((BPF_PORTS + 12)) ::1
    out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" ::1 $((BPF_PORTS + 12))) || fail "client: $out"
    note "the [dest] profile's destination: $out"
    expect_opts "$out" keepalive=1 idle=42
else
    note "no IPv6 loopback here: the [dest] profile is checked by the unit tests only"
fi

"$SFX" bpf status >"$CT_TMP/status.out" 2>&1
st=$?
note "$(cat "$CT_TMP/status.out")"
[ $st = 0 ] || fail "status while attached: exit $st"
grep -q "attached to $CG_on " "$CT_TMP/status.out" || fail "status does not name the cgroup"
grep -q "keepalive after 5s idle" "$CT_TMP/status.out" || fail "status does not show the settings in use"

# A bad value: refused, and the copy attached keeps its settings.
"$SFX" bpf enable --cgroup "$CG_on" --keepalive 0,1,1 >"$CT_TMP/bad.out" 2>&1 && fail "a bad value was accepted"
grep -q "nothing attached" "$CT_TMP/bad.out" || fail "bad value: $(cat "$CT_TMP/bad.out")"
"$SFX" bpf enable --cgroup "$CT_TMP" >"$CT_TMP/nocg.out" 2>&1 && fail "a directory that is no cgroup was accepted"
note "not a cgroup: $(cat "$CT_TMP/nocg.out")"

if command -v setpriv >/dev/null; then
    setpriv --reuid=65534 --regid=65534 --clear-groups "$SFX" bpf enable --cgroup "$CG_off" >"$CT_TMP/user.out" 2>&1 &&
        fail "enabled without root"
    grep -q "needs root" "$CT_TMP/user.out" || fail "not root: $(cat "$CT_TMP/user.out")"
    bpftool cgroup show "$CG_off" | grep -q sockfix && fail "attached by a user"
fi

for i in 1 2; do
    "$SFX" bpf disable --cgroup "$CG_on" >"$CT_TMP/disable.out" 2>&1 || fail "disable #$i: $(cat "$CT_TMP/disable.out")"
    note "disable #$i: $(cat "$CT_TMP/disable.out")"
done
[ -e "/sys/fs/bpf/sockfix/cg$(stat -c %i "$CG_on")" ] && fail "pins left after disable"
bpftool cgroup show "$CG_on" | grep -q sockfix && fail "still attached after disable: $(bpftool cgroup show "$CG_on")"
out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 11))) || fail "client: $out"
expect_opts "$out" keepalive=0
"$SFX" bpf status >/dev/null 2>&1
st=$?
if [ -z "$(ls /sys/fs/bpf/sockfix 2>/dev/null)" ]; then
    [ $st = 3 ] || fail "status after disable: exit $st, not 3"
    [ -e /sys/fs/bpf/sockfix ] && fail "/sys/fs/bpf/sockfix left behind"
fi
exit 0
