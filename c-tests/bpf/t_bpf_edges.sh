# Edges of `sockfix bpf`: a --cgroup that turns out to be the root cgroup
# (`.`, `CHILD/..`, `/`, the mount itself) is refused, never taken as the
# whole host; an IPv4-mapped source address (--bind ::ffff:127.0.0.3) is
# the IPv4 address it is, so IPv6 connections are not broken by it
# (EAFNOSUPPORT) and mapped ones get it; a copy whose cgroup was removed is
# a leftover in status (exit 1), and a disable naming that cgroup removes
# its pins without touching other copies; seen from a container (its own
# cgroup namespace), a live copy out of sight is neither "removed" nor
# pruned.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"

bpf_static_client

bpf_cgroups on gone box
root=$(bpf_cgroup2_root)
pins_before=$(ls /sys/fs/bpf/sockfix 2>/dev/null | sort)

# Names of the root cgroup: refused. Only `disable` is run with them here
# (enable and disable name the cgroup the same way, bpf.rs named_cgroup,
# whose unit test covers enable's side): a test never risks attaching to
# the machine's root cgroup.
for p in . "$CG_on/.." "$CG_on/../." / "$root/" "$root/../$(basename "$root")"; do
    "$SFX" bpf disable --cgroup "$p" >"$CT_TMP/root.out" 2>&1 && fail "disable --cgroup $p was taken as the root"
    grep -q "root cgroup" "$CT_TMP/root.out" || fail "--cgroup $p: $(cat "$CT_TMP/root.out")"
done
note "$(cat "$CT_TMP/root.out")"
[ -e "/sys/fs/bpf/sockfix/cg$(stat -c %i "$root")" ] && fail "pinned on the root cgroup"

# A mapped source address.
bpf_listen $((BPF_PORTS + 111))
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    bpf_listen $((BPF_PORTS + 112)) ::1
    "$SFX" bpf enable --cgroup "$CG_on" --bind ::ffff:127.0.0.3 >"$CT_TMP/bind.out" 2>&1 ||
        fail "enable --bind mapped: $(cat "$CT_TMP/bind.out")"
    grep -q "source 127.0.0.3" "$CT_TMP/bind.out" || fail "mapped source: $(cat "$CT_TMP/bind.out")"
    out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" ::1 $((BPF_PORTS + 112)))
    note "IPv6 destination: $out"
    expect_opts "$out" keepalive=1
    [[ $out == *"local=::1:"* ]] || fail "IPv6 destination: $out"
    out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" ::ffff:127.0.0.1 $((BPF_PORTS + 111))) || fail "client: $out"
    note "mapped destination: $out"
    [[ $out == *"local=::ffff:127.0.0.3:"* ]] || fail "mapped destination: $out"
fi
out=$(in_cgroup "$CG_on" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 111))) || fail "client: $out"
[[ $out == *"local=127.0.0.3:"* ]] || fail "IPv4 destination: $out"

# A copy whose cgroup goes.
"$SFX" bpf enable --cgroup "$CG_gone" >/dev/null 2>&1 || fail "enable on $CG_gone"
gone_id=$(stat -c %i "$CG_gone")
gone_pins=/sys/fs/bpf/sockfix/cg$gone_id
rmdir "$CG_gone" || fail "cannot remove $CG_gone"
bpf_status_removed "$gone_id" "$CT_TMP/status.out"
st=$?
note "$(cat "$CT_TMP/status.out")"
[ $st = 1 ] || fail "status with a removed cgroup's copy: exit $st, not 1"
grep -q "leftover: cgroup .* (removed)" "$CT_TMP/status.out" || fail "no leftover in status"
"$SFX" bpf disable --cgroup "$CG_gone" >"$CT_TMP/gone.out" 2>&1 && fail "disable of a removed cgroup: exit 0"
note "$(cat "$CT_TMP/gone.out")"
[ -e "$gone_pins" ] && fail "the removed cgroup's pins are left: $(cat "$CT_TMP/gone.out")"
grep -q "attached to $CG_on " <("$SFX" bpf status 2>&1) || fail "the other copy went too"

# Seen from a container (its own cgroup namespace, cgroup2 mounted afresh
# from inside one of the test's cgroups), the copy on $CG_on is out of
# sight: status says so, and what prunes removed cgroups' copies (a disable
# naming a cgroup that is not there) leaves it, asking the kernel, not the
# view, whether its cgroup is gone.
in_cgroup "$CG_box" unshare -Cm sh -c "mount --make-rprivate / && umount -l '$root' && mount -t cgroup2 none '$root' &&
    '$SFX' bpf status; '$SFX' bpf disable --cgroup sockfix-test-not-there" >"$CT_TMP/box.out" 2>&1
note "from a container: $(grep -m1 'not visible' "$CT_TMP/box.out")"
grep -q "attached to cgroup $(stat -c %i "$CG_on") (not visible from here" "$CT_TMP/box.out" ||
    fail "status in a cgroup namespace: $(cat "$CT_TMP/box.out")"
[ -e "/sys/fs/bpf/sockfix/cg$(stat -c %i "$CG_on")" ] || fail "a copy out of sight of a container was pruned as removed"
"$SFX" bpf disable --cgroup "$CG_on" >/dev/null 2>&1 || fail "disable"
exit 0
