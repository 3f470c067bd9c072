# The eBPF companion's source addresses and ports (SOCKFIX_BIND,
# SOCKFIX_PORTS, applied with bpf_bind when a static program connects):
# the connection leaves from the address given (also for an IPv4-mapped
# destination on an IPv6 socket, as the mapped address), from a port in the
# range while one is free, and from a port the kernel chooses once the range
# is used up (the connect still succeeds); a program that binds its socket
# itself keeps its own source. The library gives the same sources for a
# range below the kernel's own ephemeral range.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/bpf/bpf_lib.sh"

bpf_static_client
bpf_cgroups src
bpf_listen $((BPF_PORTS + 51))

# The range: four ports the kernel does not hand out itself here.
read -r lo_eph hi_eph </proc/sys/net/ipv4/ip_local_port_range
LOW=$((lo_eph > 20000 ? 20100 + $$ % 1000 : hi_eph + 100))
HIGH=$((LOW + 3))
"$SFX" bpf enable --cgroup "$CG_src" --bind 127.0.0.2 --ports "$LOW-$HIGH" >"$CT_TMP/enable.out" 2>&1 ||
    fail "enable: $(cat "$CT_TMP/enable.out")"
note "$(cat "$CT_TMP/enable.out")"

declare -A seen=()
for i in 1 2 3 4; do
    out=$(in_cgroup "$CG_src" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 51))) || fail "client $i: $out"
    local_end=${out##*local=}
    ip=${local_end%:*} port=${local_end##*:}
    note "connection $i: from $local_end"
    [ "$ip" = 127.0.0.2 ] || fail "connection $i left from $ip, not 127.0.0.2"
    [ "$port" -ge "$LOW" ] && [ "$port" -le "$HIGH" ] || fail "connection $i: port $port outside $LOW-$HIGH"
    [ -z "${seen[$port]:-}" ] || fail "port $port used twice"
    seen[$port]=1
done
# Every port of the range is taken (held by the server, or in TIME_WAIT):
# the kernel chooses, and the connect goes on.
out=$(in_cgroup "$CG_src" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 51))) || fail "client after the range: $out"
note "the range used up: from ${out##*local=}"
port=${out##*:}
[ "$port" -lt "$LOW" ] || [ "$port" -gt "$HIGH" ] || fail "a fifth connection got port $port of a used-up range"

# Addresses only (no range): the kernel picks the port; a mapped destination.
"$SFX" bpf enable --cgroup "$CG_src" --bind 127.0.0.3 >/dev/null 2>&1 || fail "enable --bind 127.0.0.3"
out=$(in_cgroup "$CG_src" timeout 20 "$CLIENT" 127.0.0.1 $((BPF_PORTS + 51))) || fail "client: $out"
note "address only: from ${out##*local=}"
[[ $out == *" local=127.0.0.3:"* ]] || fail "not from 127.0.0.3: $out"
out=$(in_cgroup "$CG_src" timeout 20 "$CLIENT" ::ffff:127.0.0.1 $((BPF_PORTS + 51))) || fail "client: $out"
note "IPv4-mapped destination: from ${out##*local=}"
[[ $out == *" local=::ffff:127.0.0.3:"* ]] || fail "not from ::ffff:127.0.0.3: $out"

# A program that binds its socket itself keeps its source.
out=$(in_cgroup "$CG_src" timeout 20 python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.4", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
print("local=%s:%d" % s.getsockname())
' $((BPF_PORTS + 51))) || fail "a program that binds: $out"
note "a program that binds itself: $out"
[[ $out == local=127.0.0.4:* ]] || fail "the program's own bind was overridden: $out"
"$SFX" bpf disable --cgroup "$CG_src" >/dev/null || fail "disable"

# The library, for the same kind of range (below the kernel's own, where
# IP_LOCAL_PORT_RANGE does not apply: once silently ignored), gives the same
# sources: the address, and ports in the range.
LOW2=$((HIGH + 10)) HIGH2=$((HIGH + 11))
for i in 1 2; do
    out=$(env LD_PRELOAD="$CT_LIB" SOCKFIX_BIND=127.0.0.2 SOCKFIX_PORTS="$LOW2-$HIGH2" timeout 20 "$CT_BIN/bpf_client" 127.0.0.1 $((BPF_PORTS + 51))) ||
        fail "library client $i: $out"
    note "the library, PORTS=$LOW2-$HIGH2: from ${out##*local=}"
    port=${out##*:}
    [[ $out == *" local=127.0.0.2:"* ]] && [ "$port" -ge "$LOW2" ] && [ "$port" -le "$HIGH2" ] ||
        fail "the library did not apply PORTS=$LOW2-$HIGH2 with BIND=127.0.0.2: $out"
done
exit 0
