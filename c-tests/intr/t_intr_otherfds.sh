# Every fd that is not a TCP socket behaves exactly as without sockfix: under
# the same SIGWINCH+SIGHUP storm (every 50 ms, handlers without SA_RESTART) a
# blocking read on a pipe, a UNIX socketpair, a connected UNIX stream socket,
# a connected UDP socket or a tty still fails with EINTR at the first signal,
# with the library as without it.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
V=$CT_BIN/intr_victim
[ -x "$V" ] || fail "$V not built"

# label|victim args.  A peer writes after 1 s (a wrongly resumed read would
# then succeed); the tty never gets data, so SIGALRM (passed by default)
# ends a wrongly resumed read after 3 s.
cases=(
    "pipe read|-k pipe -m read"
    "pipe readv|-k pipe -m readv"
    "socketpair read|-k socketpair -m read"
    "socketpair recv|-k socketpair -m recv"
    "socketpair recvmsg|-k socketpair -m recvmsg"
    "unix-stream recvfrom|-k unix -m recvfrom"
    "unix-stream read|-k unix -m read"
    "udp recv|-k udp -m recv"
    "udp recvfrom|-k udp -m recvfrom"
    "udp read|-k udp -m read"
    "tty read|-k pty -m read -d -1 -A 3"
)

for how in without with; do
    [ $how = with ] && intr_lib_or_skip
    intr_start_cases cases $how "$V"
    intr_expect_cases cases $how "$how lib:" eintr 0 900
done
intr_done
