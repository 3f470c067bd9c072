# The eBPF companion and the library together: a program that has the
# library, in a cgroup with the companion, gets each option once, set by
# the library before connect (strace shows one setsockopt per option) and
# left alone by the companion, which counts the library's calls as the
# program's; where the library sets nothing (its user timeout off) the
# companion's value is there. Accepted connections get the settings only
# with SOCKFIX_SERVER, and a listener's own keepalive time is inherited
# and kept.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"
need strace
[ -e "$CT_LIB" ] || fail "library not built: $CT_LIB"

CLIENT=$CT_BIN/bpf_client
bpf_cgroups lib
bpf_listen $((BPF_PORTS + 21))

"$SFX" bpf enable --cgroup "$CG_lib" --keepalive 9,4,5 --user-timeout 20s >"$CT_TMP/enable.out" 2>&1 ||
    fail "enable: $(cat "$CT_TMP/enable.out")"

# The same settings in both: what the kernel has is the settings, and the
# library's setsockopt calls are the only ones.
out=$(in_cgroup "$CG_lib" env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null SOCKFIX_KEEPIDLE=9 SOCKFIX_KEEPINTVL=4 \
    SOCKFIX_KEEPCNT=5 SOCKFIX_USER_TIMEOUT=20s \
    strace -f -qq -e trace=setsockopt -o "$CT_TMP/strace.out" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 21))) || fail "client: $out"
note "library and companion, same settings: $out"
expect_opts "$out" keepalive=1 idle=9 intvl=4 cnt=5 user_timeout=20000
for opt in SO_KEEPALIVE TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT TCP_USER_TIMEOUT; do
    n=$(grep -c "$opt" "$CT_TMP/strace.out")
    [ "$n" = 1 ] || fail "$opt set $n times: $(cat "$CT_TMP/strace.out")"
done

# Different settings: each option the library set is the library's; the
# user timeout, which the library leaves off, is the companion's.
out=$(in_cgroup "$CG_lib" env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null SOCKFIX_KEEPIDLE=7 \
    timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 21))) || fail "client: $out"
note "library keepidle 7, companion 9: $out"
expect_opts "$out" keepalive=1 idle=7 intvl=15 cnt=9 user_timeout=20000

# Accepted connections: a server in the cgroup (no library), its peer outside.
accepted() {
    in_cgroup "$CG_lib" timeout 20 python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if sys.argv[2] != "0":
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, int(sys.argv[2]))
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[3], "w").close()
c, _ = s.accept()
g = lambda l, o: c.getsockopt(l, o)
print("keepalive=%d idle=%d intvl=%d cnt=%d user_timeout=%d" % (g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
      g(6, socket.TCP_KEEPIDLE), g(6, socket.TCP_KEEPINTVL), g(6, socket.TCP_KEEPCNT), g(6, socket.TCP_USER_TIMEOUT)))
' "$1" "$2" "$CT_TMP/ready-$1" >"$CT_TMP/accepted-$1.out" 2>&1 &
    local pid=$!
    track $pid
    for _ in $(seq 100); do [ -e "$CT_TMP/ready-$1" ] && break; sleep 0.05; done
    timeout 20 "$CLIENT" 127.0.0.1 "$1" >/dev/null || fail "cannot connect to the server on $1"
    wait $pid
    cat "$CT_TMP/accepted-$1.out"
}
out=$(accepted $((BPF_PORTS + 22)) 0)
note "accepted, SOCKFIX_SERVER off: $out"
expect_opts "$out" keepalive=0 user_timeout=0
"$SFX" bpf enable --cgroup "$CG_lib" --keepalive 9,4,5 --user-timeout 20s --server >"$CT_TMP/enable2.out" 2>&1 ||
    fail "enable --server: $(cat "$CT_TMP/enable2.out")"
out=$(accepted $((BPF_PORTS + 23)) 0)
note "accepted, SOCKFIX_SERVER on: $out"
expect_opts "$out" keepalive=1 idle=9 intvl=4 cnt=5 user_timeout=20000
out=$(accepted $((BPF_PORTS + 24)) 300)
note "accepted from a listener with its own TCP_KEEPIDLE=300: $out"
expect_opts "$out" keepalive=1 idle=300 intvl=4 cnt=5
exit 0
