# Every way of making a TCP socket gets keepalive at connect: plain,
# SOCK_CLOEXEC|SOCK_NONBLOCK with a non-blocking connect (EINPROGRESS, then
# poll), IPPROTO_TCP explicit, IPv6 to ::1, IPv4-mapped IPv6 on an AF_INET6
# socket. Without the library the same sockets keep the kernel's defaults.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"

cases=("tcp 127.0.0.1" "tcp-nb 127.0.0.1" "tcp-proto 127.0.0.1")
if ipv6_lo; then
    cases+=("tcp ::1" "tcp-nb ::1" "tcp-proto ::1" "tcp ::ffff:127.0.0.1" "tcp-nb ::ffff:127.0.0.1")
else
    note "no IPv6 on lo: IPv6 and IPv4-mapped cases not run"
fi

for c in "${cases[@]}"; do
    probe_nolib -- $c
    expect "without library, $c" connect=ok errno_kept=1 $UNTOUCHED
done

need_lib
for c in "${cases[@]}"; do
    probe_lib -- $c
    expect "with library, $c" connect=ok errno_kept=1 $DEFAULTS
    # The non-blocking connect must still report EINPROGRESS (or complete at
    # once, which loopback may do): the probe then prints inprogress=0|1.
    case $c in tcp-nb*) [ -n "$(field inprogress)" ] || fail "$c: no inprogress field [$OUT]";; esac
done

# The non-blocking socket keeps its flags (O_NONBLOCK stays, the connect
# returned EINPROGRESS on at least one of the tries, as without the library).
saw=0
for i in 1 2 3 4 5; do
    probe_lib -- tcp-nb 127.0.0.1
    [ "$(field inprogress)" = 1 ] && { saw=1; break; }
done
probe_nolib -- tcp-nb 127.0.0.1
if [ "$(field inprogress)" = 1 ] && [ $saw = 0 ]; then
    fail "non-blocking connect never returned EINPROGRESS with the library (it does without)"
fi
exit 0
