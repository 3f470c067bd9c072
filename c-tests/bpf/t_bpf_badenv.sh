# The eBPF companion where something is missing or left over: each case
# gives one clear line and a non-zero exit, and nothing is left attached or
# pinned. No cgroup v2 mounted (hidden in a private mount namespace); no bpf
# filesystem mounted (sockfix mounts it itself); a unit when systemd does
# not run; a copy missing one of its pins (status says so, exit 1, and
# disable --all clears it); --all with nothing attached.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"
need unshare
need findmnt

bpf_cgroups bad
root=$(bpf_cgroup2_root)

# One line, exit 1, nothing attached.
one_line_failure() { # NAME OUTFILE RC
    [ "$3" = 1 ] || fail "$1: exit $3, not 1: $(cat "$2")"
    [ "$(wc -l <"$2")" = 1 ] || fail "$1: not one line: $(cat "$2")"
    note "$1: $(cat "$2")"
    bpftool cgroup show "$CG_bad" | grep -q sockfix && fail "$1: attached anyway"
}

# No cgroup v2: unmounted in a private mount namespace (or, where it is
# busy, covered by an empty tmpfs).
unshare -m sh -c "mount --make-rprivate / && { umount -l '$root' || mount -t tmpfs none '$root'; } &&
    exec '$SFX' bpf enable --cgroup sockfix-test" \
    >"$CT_TMP/nocg.out" 2>&1
one_line_failure "no cgroup v2" "$CT_TMP/nocg.out" $?
grep -q "no cgroup v2" "$CT_TMP/nocg.out" || fail "no cgroup v2: $(cat "$CT_TMP/nocg.out")"

# No bpf filesystem: sockfix mounts it, attaches, and disable detaches
# (pins on that namespace's own bpf filesystem).
unshare -m sh -c "mount --make-rprivate / && { umount /sys/fs/bpf 2>/dev/null; true; } &&
    ! findmnt -t bpf /sys/fs/bpf >/dev/null &&
    '$SFX' bpf enable --cgroup '$CG_bad' && findmnt -n -t bpf /sys/fs/bpf &&
    '$SFX' bpf disable --cgroup '$CG_bad'" >"$CT_TMP/bpffs.out" 2>&1 ||
    fail "without a bpf filesystem: $(cat "$CT_TMP/bpffs.out")"
note "without a bpf filesystem: $(head -n 2 "$CT_TMP/bpffs.out" | tr '\n' ' ')"

# A unit, but no systemd here (or a unit that is not running).
"$SFX" bpf enable --unit sockfix-test-nonexistent >"$CT_TMP/unit.out" 2>&1
one_line_failure "a unit" "$CT_TMP/unit.out" $?

# A copy with a pin missing: status names it, exit 1; disable --all clears it.
"$SFX" bpf enable --cgroup "$CG_bad" >/dev/null 2>&1 || fail "enable"
dir=/sys/fs/bpf/sockfix/cg$(stat -c %i "$CG_bad")
rm "$dir/link_connect6" || fail "no link_connect6 pin in $dir"
"$SFX" bpf status >"$CT_TMP/status.out" 2>&1
st=$?
note "status with a pin missing: $(grep leftover "$CT_TMP/status.out")"
[ $st = 1 ] || fail "status with a pin missing: exit $st, not 1"
grep -q "leftover: link_connect6 missing" "$CT_TMP/status.out" || fail "status: $(cat "$CT_TMP/status.out")"
"$SFX" bpf disable --all >"$CT_TMP/all.out" 2>&1 || fail "disable --all: $(cat "$CT_TMP/all.out")"
[ -e "$dir" ] && fail "disable --all left $dir"
bpftool cgroup show "$CG_bad" | grep -q sockfix && fail "still attached after disable --all"
if [ ! -e /sys/fs/bpf/sockfix ]; then
    "$SFX" bpf disable --all >"$CT_TMP/none.out" 2>&1 || fail "disable --all with nothing: $(cat "$CT_TMP/none.out")"
    grep -q "not attached anywhere" "$CT_TMP/none.out" || fail "disable --all with nothing: $(cat "$CT_TMP/none.out")"
fi
exit 0
