# `sockfix systemd UNIT --bpf` writes a drop-in that attaches the eBPF
# companion to the unit's own cgroup before it starts and detaches it after
# it stops. Without a running systemd here, the test does what systemd
# does with the drop-in: it runs the ExecStartPre= command inside a cgroup
# (the unit's), with the drop-in's Environment=; a static program there
# then gets the drop-in's settings, and the ExecStopPost= command leaves
# nothing attached or pinned. A copy whose cgroup was removed (a unit
# stopped without its ExecStopPost=) is shown as such by status and pruned
# by the next enable.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"

bpf_static_client
bpf_cgroups unit gone
bpf_listen $((BPF_PORTS + 31))

mkdir -p "$CT_TMP/root"
"$SFX" systemd exporter --bpf --keepalive 6,2,3 --user-timeout 25s --root "$CT_TMP/root" >"$CT_TMP/write.out" 2>&1 ||
    fail "sockfix systemd --bpf: $(cat "$CT_TMP/write.out")"
dropin=$CT_TMP/root/etc/systemd/system/exporter.service.d/sockfix.conf
[ -f "$dropin" ] || fail "no drop-in: $(cat "$CT_TMP/write.out")"
note "$(cat "$dropin")"
pre=$(sed -n 's/^ExecStartPre=-+//p' "$dropin")
post=$(sed -n 's/^ExecStopPost=-+//p' "$dropin")
[ "$pre" = "$SFX bpf enable --own-cgroup" ] || fail "ExecStartPre=: $pre"
[ "$post" = "$SFX bpf disable --own-cgroup" ] || fail "ExecStopPost=: $post"
mapfile -t envs < <(sed -n 's/^Environment="\(.*\)"$/\1/p' "$dropin")
[ ${#envs[@]} -ge 5 ] || fail "too few Environment= lines: ${envs[*]}"

# What systemd does at start: ExecStartPre= in the unit's cgroup, with its
# environment; then the main program.
# shellcheck disable=SC2086 # the command line as systemd splits it
in_cgroup "$CG_unit" env "${envs[@]}" $pre >"$CT_TMP/pre.out" 2>&1 || fail "ExecStartPre=: $(cat "$CT_TMP/pre.out")"
note "ExecStartPre=: $(cat "$CT_TMP/pre.out")"
out=$(in_cgroup "$CG_unit" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 31))) || fail "client: $out"
note "the unit's static program: $out"
expect_opts "$out" keepalive=1 idle=6 intvl=2 cnt=3 user_timeout=25000
# ... and at stop: ExecStopPost=.
# shellcheck disable=SC2086
in_cgroup "$CG_unit" env "${envs[@]}" $post >"$CT_TMP/post.out" 2>&1 || fail "ExecStopPost=: $(cat "$CT_TMP/post.out")"
[ -e "/sys/fs/bpf/sockfix/cg$(stat -c %i "$CG_unit")" ] && fail "pins left after ExecStopPost="
bpftool cgroup show "$CG_unit" | grep -q sockfix && fail "still attached after ExecStopPost="

# A copy whose cgroup goes away with it attached.
"$SFX" bpf enable --cgroup "$CG_gone" >/dev/null 2>&1 || fail "enable on the second cgroup"
gone_id=$(stat -c %i "$CG_gone")
rmdir "$CG_gone" || fail "cannot remove a cgroup with the companion attached"
bpf_status_removed "$gone_id" "$CT_TMP/status.out"
grep -q "cgroup $gone_id (removed)" "$CT_TMP/status.out" || fail "status does not show the removed cgroup: $(cat "$CT_TMP/status.out")"
"$SFX" bpf enable --cgroup "$CG_unit" >/dev/null 2>&1 || fail "enable after the removal"
[ -e "/sys/fs/bpf/sockfix/cg$gone_id" ] && fail "the removed cgroup's pins were not pruned"
"$SFX" bpf disable --cgroup "$CG_unit" >/dev/null 2>&1 || fail "disable"

"$SFX" systemd exporter --remove --root "$CT_TMP/root" >/dev/null 2>&1 || fail "--remove"
[ -e "$dropin" ] && fail "drop-in left after --remove"
exit 0
