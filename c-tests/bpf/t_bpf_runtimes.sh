#!/usr/bin/env bash
# t_bpf_runtimes: programs no preload library reaches get their settings
# from the eBPF companion, as read back from the kernel.
#
# What it proves: a Go program built without cgo, busybox's static nc and
# an io_uring connect get the companion's keepalive, TCP_USER_TIMEOUT and
# TCP_SYNCNT; the options a Go program sets itself are kept; a process in
# a cgroup the companion is not attached to gets nothing; and nothing of
# the companion is left attached or pinned afterwards.
#
# Clients, all run without LD_PRELOAD, in the child cgroup $CG_on:
#   bpf_goclient raw     syscall.Socket + syscall.Connect, sets nothing
#   bpf_goclient noka    net.Dialer{KeepAlive: -1}
#   bpf_goclient dialer  the default net.Dialer (Go's own 15 s keepalive)
#   busybox nc           read from outside: ss -o and bpf_peek (pidfd_getfd)
#   bpf_uring_client     IORING_OP_CONNECT: no connect() system call at all
# What the Go clients set themselves is taken from strace, not assumed:
# those options must be the program's values, all others the companion's.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"

need go
need strace
need ss
need bpftool
need file
[ -x /bin/busybox ] || skip "busybox-static not installed (/bin/busybox)"
B=$CT_ROOT/c-tests/bpf

bpf_cgroups on off
# A copy attached above our cgroups (another one's, host-wide) would reach
# the sibling too: then "no companion" cannot be shown here.
[ -z "$(bpftool cgroup show "$CG_off" effective 2>/dev/null)" ] ||
    skip "BPF programs are attached above $CG_off (another copy host-wide?)"

# --- Clients --------------------------------------------------------------
bpf_static_client
# Go: its caches and home in $CT_TMP, nothing written elsewhere.
env GOCACHE="$CT_TMP/go/cache" GOPATH="$CT_TMP/go/path" HOME="$CT_TMP/go" GO111MODULE=off CGO_ENABLED=0 \
    go build -o "$CT_TMP/bpf_goclient" "$B/bpf_goclient.go" || fail "cannot build bpf_goclient"
file "$CT_TMP/bpf_goclient" | grep -q 'statically linked' ||
    fail "bpf_goclient is not static: $(file "$CT_TMP/bpf_goclient")"
# liburing statically when its archive is there; a dynamic build is run
# without LD_PRELOAD all the same.
uring_static=-static
[ -n "$(gcc -print-file-name=liburing.a | grep /)" ] || uring_static=
gcc -O2 $uring_static -x c -o "$CT_TMP/bpf_uring_client" "$B/bpf_uring_client.c.in" -luring ||
    fail "cannot build bpf_uring_client with liburing"
PEEK=$CT_BIN/bpf_peek
[ -x "$PEEK" ] || fail "$PEEK not built"

# --- Settings -------------------------------------------------------------
# Distinct from every default: idle=11 intvl=3 cnt=4, 20 s user timeout,
# and a 5 s connect timeout, which is 2 SYN retries.
out=$("$SFX" bpf enable --cgroup "$CG_on" --keepalive 11,3,4 --user-timeout 20s --connect-timeout 5s 2>&1) ||
    fail "bpf enable: $out"
note "$out"
WANT="keepalive=1 idle=11 intvl=3 cnt=4 user_timeout=20000 syncnt=2"
# What a socket has with nobody setting anything: this namespace's sysctls.
DEFAULTS="keepalive=0 idle=$(sysctl -n net.ipv4.tcp_keepalive_time) intvl=$(sysctl -n net.ipv4.tcp_keepalive_intvl)"
DEFAULTS+=" cnt=$(sysctl -n net.ipv4.tcp_keepalive_probes) user_timeout=0 syncnt=$(sysctl -n net.ipv4.tcp_syn_retries)"

# Below the ephemeral range (32768-), so no outgoing connection holds it.
PORT=$((20000 + $$ % 10000))
bpf_listen "$PORT"

# client CG NAME CMD...: runs CMD (bounded) in cgroup CG under strace, which
# records its connect, setsockopt and io_uring_enter calls in
# $CT_TMP/NAME.strace; sets OUT to its output line.
client() {
    local cg=$1 name=$2
    shift 2
    OUT=$(in_cgroup "$cg" timeout 20 strace -f -qq -o "$CT_TMP/$name.strace" \
        -e trace=connect,setsockopt,io_uring_enter "$@" 2>&1) || fail "$name: exit $?: $OUT"
}

# own_opts NAME: the options the program set itself (strace), key=value.
own_opts() {
    sed -n 's/.*setsockopt([0-9]*, SOL_[A-Z]*, \(SO_KEEPALIVE\|TCP_KEEPIDLE\|TCP_KEEPINTVL\|TCP_KEEPCNT\|TCP_USER_TIMEOUT\|TCP_SYNCNT\), \[\([0-9]*\)\].*/\1=\2/p' \
        "$CT_TMP/$1.strace" |
        sed 's/^SO_KEEPALIVE/keepalive/; s/^TCP_KEEPIDLE/idle/; s/^TCP_KEEPINTVL/intvl/; s/^TCP_KEEPCNT/cnt/;
             s/^TCP_USER_TIMEOUT/user_timeout/; s/^TCP_SYNCNT/syncnt/'
}

# expect_own NAME: $OUT has the program's own options where it set them
# (the last value of each) and the companion's everywhere else.
expect_own() {
    local name=$1 w key v own want=()
    own=$(own_opts "$name")
    for w in $WANT; do
        key=${w%%=*}
        v=$(printf '%s\n' "$own" | sed -n "s/^$key=//p" | tail -n 1)
        want+=("$key=${v:-${w#*=}}")
    done
    note "$name: set itself: $(echo $own); wants ${want[*]}"
    expect_opts "$OUT" "${want[@]}"
}

# --- 1. Go without cgo ----------------------------------------------------
client "$CG_on" go-raw "$CT_TMP/bpf_goclient" raw 127.0.0.1 "$PORT"
note "go raw:    $OUT"
[ -z "$(own_opts go-raw)" ] || fail "go raw set options itself: $(own_opts go-raw)"
expect_opts "$OUT" $WANT

# KeepAlive: -1 makes Go 1.19 skip its keepalive calls: it sets nothing
# (not SO_KEEPALIVE=0), so the companion's keepalive is what it gets.
client "$CG_on" go-noka "$CT_TMP/bpf_goclient" noka 127.0.0.1 "$PORT"
note "go noka:   $OUT"
expect_own go-noka

# The default Dialer: Go 1.19 sets SO_KEEPALIVE=1, TCP_KEEPINTVL=15 and
# TCP_KEEPIDLE=15 after the connect (TCP_KEEPCNT not at all): its own
# values must stay, the rest is the companion's.
client "$CG_on" go-dialer "$CT_TMP/bpf_goclient" dialer 127.0.0.1 "$PORT"
note "go dialer: $OUT"
grep -q 'SO_KEEPALIVE, \[1\]' "$CT_TMP/go-dialer.strace" ||
    fail "the default Dialer did not set SO_KEEPALIVE (strace: $(grep setsockopt "$CT_TMP/go-dialer.strace"))"
expect_own go-dialer

# --- 2. busybox nc (static): read from outside ----------------------------
# Its stdin: a FIFO this shell holds open, so nc waits on it.
mkfifo "$CT_TMP/nc.in"
exec {ncin}<>"$CT_TMP/nc.in"
in_cgroup "$CG_on" timeout 20 /bin/busybox nc 127.0.0.1 "$PORT" <"$CT_TMP/nc.in" >/dev/null 2>&1 &
track $!
nc_line=
for _ in $(seq 100); do
    nc_line=$(ss -tnopH state established dst "127.0.0.1:$PORT" | grep '"busybox"')
    [ -n "$nc_line" ] && break
    sleep 0.05
done
[ -n "$nc_line" ] || fail "busybox nc did not connect"
note "ss: $nc_line"
# The keepalive timer runs, and fires within the 11 s idle (not in 2 h).
[[ $nc_line =~ timer:\(keepalive,[0-9.]*(sec|ms), ]] ||
    fail "ss shows no keepalive timer under 11 s for busybox nc: $nc_line"
nc_pid=$(sed -n 's/.*"busybox",pid=\([0-9]*\),fd=\([0-9]*\).*/\1/p' <<<"$nc_line")
nc_fd=$(sed -n 's/.*"busybox",pid=\([0-9]*\),fd=\([0-9]*\).*/\2/p' <<<"$nc_line")
OUT=$("$PEEK" "$nc_pid" "$nc_fd") || fail "bpf_peek $nc_pid $nc_fd: $OUT"
note "busybox nc: $OUT"
expect_opts "$OUT" $WANT
kill "$nc_pid" 2>/dev/null
exec {ncin}>&-

# --- 3. io_uring ----------------------------------------------------------
client "$CG_on" uring "$CT_TMP/bpf_uring_client" 127.0.0.1 "$PORT"
note "io_uring:  $OUT"
! grep -q '^[0-9]* *connect(' "$CT_TMP/uring.strace" ||
    fail "bpf_uring_client called connect(): $(grep connect "$CT_TMP/uring.strace")"
grep -q 'io_uring_enter(' "$CT_TMP/uring.strace" || fail "bpf_uring_client made no io_uring_enter call"
expect_opts "$OUT" $WANT

# --- 4. The sibling cgroup, not attached: kernel defaults -----------------
for c in "go-raw-off $CT_TMP/bpf_goclient raw" "c-off $CT_TMP/bpf_client" "uring-off $CT_TMP/bpf_uring_client"; do
    set -- $c
    name=$1
    shift
    client "$CG_off" "$name" "$@" 127.0.0.1 "$PORT"
    note "$name: $OUT"
    expect_opts "$OUT" $DEFAULTS
done

# --- 5. Nothing left --------------------------------------------------------
cg_id=$(stat -c %i "$CG_on")
# Attached until now, as bpftool sees it (so the checks below can fail).
bpftool cgroup tree "$(bpf_cgroup2_root)" | grep -q "sockfix-test-on-$$" || fail "bpftool does not show $CG_on attached"
out=$("$SFX" bpf disable --cgroup "$CG_on" 2>&1) || fail "bpf disable: $out"
[ -z "$(bpftool cgroup show "$CG_on")" ] || fail "still attached to $CG_on: $(bpftool cgroup show "$CG_on")"
tree=$(bpftool cgroup tree "$(bpf_cgroup2_root)" 2>&1)
! grep -q "sockfix-test-[a-z]*-$$" <<<"$tree" || fail "bpftool cgroup tree still shows our cgroups: $tree"
[ ! -e "/sys/fs/bpf/sockfix/cg$cg_id" ] || fail "pins left: /sys/fs/bpf/sockfix/cg$cg_id"
# Only when no other copy is attached (another test's, the host's) must
# the whole pin directory be gone.
if grep -q sockfix_ <<<"$tree"; then
    note "another copy is attached elsewhere: /sys/fs/bpf/sockfix not checked"
else
    [ ! -e /sys/fs/bpf/sockfix ] || fail "/sys/fs/bpf/sockfix left: $(ls /sys/fs/bpf/sockfix)"
fi
echo "ok: Go (raw, noka, dialer), busybox nc and io_uring got the companion's options; the sibling got none"
