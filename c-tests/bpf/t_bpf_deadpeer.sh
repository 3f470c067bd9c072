# A statically linked client (no preload library reaches it) is blocked in
# read() when its database server vanishes without a reset (a failover,
# simulated by dropping every packet of the connection with nftables in the
# server's network namespace). With the eBPF companion on its cgroup
# (keepalive 1,1,2) it gets ETIMEDOUT within keepidle + keepintvl x keepcnt
# + 1 s; the same client in a cgroup without the companion is still waiting
# 6 s later.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"
need ip
need nft
source "$CT_ROOT/c-tests/live/live_lib.sh"

bpf_static_client

live_two_hosts sfx-bpf
bpf_cgroups on off
# Both traps: the namespaces and the cgroups go, whatever happens.
trap 'bpf_cleanup; live_remove_hosts' EXIT
PORT=5432

bpf_listen $PORT 192.0.2.2 "$NSB"

"$SFX" bpf enable --cgroup "$CG_on" --keepalive 1,1,2 >"$CT_TMP/enable.out" 2>&1 ||
    fail "enable: $(cat "$CT_TMP/enable.out")"

# client NAME CGROUP: the static client in the client namespace, blocked in read().
client() {
    in_cgroup "$2" timeout 30 ip netns exec "$NSA" "$CLIENT" 192.0.2.2 $PORT wait >"$CT_TMP/$1.out" 2>&1 &
    track $!
    for _ in $(seq 100); do grep -qs keepalive= "$CT_TMP/$1.out" && return 0; sleep 0.05; done
    fail "$1 did not connect: $(cat "$CT_TMP/$1.out")"
}
client with "$CG_on"
client without "$CG_off"
note "with the companion: $(head -n1 "$CT_TMP/with.out")"
note "without: $(head -n1 "$CT_TMP/without.out")"
expect_opts "$(head -n1 "$CT_TMP/with.out")" keepalive=1 idle=1 intvl=1 cnt=2

ip netns exec "$NSB" nft -f - <<EOF || fail "cannot install the nftables drop rules"
table inet sfx_bpf_drop {
    chain input { type filter hook input priority -10; policy accept; tcp dport $PORT drop; }
    chain output { type filter hook output priority -10; policy accept; tcp sport $PORT drop; }
}
EOF
note "traffic dropped at $(date +%T.%N | cut -c1-12)"
# Bounded: 12 s at most (the keepalive needs 1 + 1 x 2 = 3 s).
for _ in $(seq 120); do grep -q '^read:' "$CT_TMP/with.out" && break; sleep 0.1; done
sleep 3
result=$(grep '^read:' "$CT_TMP/with.out")
note "with the companion: $result"
[[ $result == "read: ETIMEDOUT after "* ]] || fail "no ETIMEDOUT with the companion: $(cat "$CT_TMP/with.out")"
secs=${result#read: ETIMEDOUT after }
secs=${secs%s}
awk -v s="$secs" 'BEGIN { exit !(s <= 4.0) }' || fail "ETIMEDOUT after ${secs}s, more than 1 + 1 x 2 + 1 s"
grep -q '^read:' "$CT_TMP/without.out" && fail "without the companion the read ended: $(cat "$CT_TMP/without.out")"
note "without the companion: still blocked in read() $((${secs%.*} + 3)) s after the failover"
exit 0
