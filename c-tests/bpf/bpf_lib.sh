# Helpers for the t_bpf_*.sh tests of the eBPF companion (sockfix bpf).
# Source it after lib.sh:
#   source "$CT_ROOT/c-tests/common/lib.sh"; source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"
# Not a test itself (scripts/test only runs t_*.sh).
#
# The companion is only ever attached to a child cgroup the test makes
# (never the machine's root cgroup), and the EXIT trap detaches it, stops
# what the test tracked and removes the cgroup, whatever happens.

[ "$(id -u)" = 0 ] || skip "needs root to load BPF programs"
[ -x "$CT_SFX" ] || fail "the sockfix command is not built: $CT_SFX"
clear_stray_settings LD_PRELOAD
# Only the kernel's lack of BPF is a reason to skip.
[ -e /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF (/sys/kernel/btf/vmlinux): no BPF companion here"
grep -qw bpf /proc/filesystems || skip "the kernel has no bpf filesystem (no CONFIG_BPF_SYSCALL)"

SFX=$CT_SFX
# The tests' listening ports: $((BPF_PORTS + N)), just below the kernel's
# ephemeral range, so no client's own local port can already hold one.
read -r BPF_PORTS _ </proc/sys/net/ipv4/ip_local_port_range
BPF_PORTS=$((BPF_PORTS - 1000))
# No config file of the machine's: every test states its settings.
export SOCKFIX_CONFIG=/dev/null

# The cgroup-v2 mount: pure v2 or the hybrid layout's unified/.
bpf_cgroup2_root() {
    local p
    for p in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        [ "$(stat -f -c %T "$p" 2>/dev/null)" = cgroup2fs ] && { echo "$p"; return 0; }
    done
    return 1
}

# bpf_cgroups NAME...: makes child cgroups $CG_<NAME> (paths) of this test
# under the cgroup2 root, removed on exit with the companion detached.
BPF_CGS=()
bpf_cgroups() {
    local root name
    root=$(bpf_cgroup2_root) || fail "no cgroup v2 mounted"
    for name in "$@"; do
        local path=$root/sockfix-test-$name-$$
        mkdir "$path" || fail "cannot create cgroup $path"
        BPF_CGS+=("$path")
        printf -v "CG_$name" %s "$path"
    done
    trap 'bpf_cleanup' EXIT
    trap 'exit 1' INT TERM HUP
}

# bpf_child_cgroup PARENT NAME: a cgroup below another of the test's, as
# $CG_<NAME>, removed before its parent.
bpf_child_cgroup() {
    local path=$1/$2
    mkdir "$path" || fail "cannot create cgroup $path"
    BPF_CGS+=("$path")
    printf -v "CG_$2" %s "$path"
}

bpf_cleanup() {
    local cg p i k
    cleanup_pids
    # Children before their parents: the reverse of their making.
    for ((k = ${#BPF_CGS[@]} - 1; k >= 0; k--)); do
        cg=${BPF_CGS[k]}
        "$SFX" bpf disable --cgroup "$cg" >/dev/null 2>&1
        # Processes still in it (a test's stray child) go first, by PID.
        for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        for i in 1 2 3 4 5 6 7 8 9 10; do
            rmdir "$cg" 2>/dev/null && break
            sleep 0.1
        done
        [ -d "$cg" ] && echo "WARNING: could not remove cgroup $cg"
    done
    return 0
}

# in_cgroup CG CMD...: runs CMD as a member of cgroup CG (the shell joins
# it, then execs CMD).
in_cgroup() {
    local cg=$1
    shift
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# bpf_static_client: bpf_client.c built -static as $CLIENT ($CT_TMP/bpf_client):
# a program no preload library reaches, checked to be one.
bpf_static_client() {
    CLIENT=$CT_TMP/bpf_client
    gcc -O2 -static -o "$CLIENT" "$CT_ROOT/c-tests/bpf/bpf_client.c" 2>"$CT_TMP/cc.err" ||
        fail "cannot build a static client: $(head -n3 "$CT_TMP/cc.err")"
    file -L "$CLIENT" | grep -q 'statically linked' || fail "the client is not static: $(file -L "$CLIENT")"
}

# bpf_status_removed ID OUT: `sockfix bpf status` into OUT once it shows the
# copy of cgroup ID as removed: the kernel releases a removed cgroup, and
# detaches its links, a moment after rmdir. Bounded (5 s); returns the
# status's exit code.
bpf_status_removed() {
    local st=0
    for _ in $(seq 50); do
        "$SFX" bpf status >"$2" 2>&1
        st=$?
        grep -q "cgroup $1 (removed)" "$2" && break
        sleep 0.1
    done
    return $st
}

# bpf_listen PORT [ADDR [NETNS]]: a server (on loopback, or ADDR in network
# namespace NETNS) that accepts and holds its connections for up to 60 s
# (tracked, stopped on exit). Sets SERVER_PID.
bpf_listen() {
    local port=$1 addr=${2:-127.0.0.1} in_ns=()
    [ -n "${3:-}" ] && in_ns=(ip netns exec "$3")
    local out=$CT_TMP/listen-$addr-$port.out
    "${in_ns[@]}" python3 -c '
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print("listening", flush=True)
held = []
s.settimeout(1)
end = time.time() + 60
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
' "$addr" "$port" >"$out" 2>&1 &
    SERVER_PID=$!
    track $!
    for _ in $(seq 100); do grep -qs listening "$out" && return 0; sleep 0.05; done
    fail "server on $addr:$port did not start: $(cat "$out")"
}

# expect_opts OUTPUT WANT...: each WANT (key=value) is in the client's line.
expect_opts() {
    local out=$1 w
    shift
    for w in "$@"; do
        [[ " $out " == *" $w "* ]] || fail "expected $w in: $out"
    done
}
