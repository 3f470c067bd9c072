# SO_RCVTIMEO = 500 ms on a TCP socket whose peer never answers; blocking
# reads under a SIGWINCH+SIGHUP storm (every 50 ms, handlers without
# SA_RESTART).  The kernel returns EINTR for such sockets even to SA_RESTART
# handlers.  With the library the read is resumed with the remaining time and
# fails with EAGAIN/EWOULDBLOCK after 450-900 ms, on time; without it, EINTR
# at the first signal.  Also: two signals that straddle the library's own
# wait for the rest of the timeout, and writes with SO_SNDTIMEO.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
V=$CT_BIN/intr_victim
[ -x "$V" ] || fail "$V not built"

cases=(
    "recv|-m recv"
    "read|-m read"
    "recvfrom|-m recvfrom"
    "readv|-m readv"
    "recvmsg|-m recvmsg"
    "recv, signal() handlers (SA_RESTART)|-m recv -H g"
)
intr_start_cases cases without "$V" -T 500 -d -1
intr_expect_cases cases without "without lib: SO_RCVTIMEO=500ms" eintr 0 400
intr_lib_or_skip
intr_start_cases cases with "$V" -T 500 -d -1
intr_expect_cases cases with "with lib: SO_RCVTIMEO=500ms" eagain 450 900 WINCH 5

# The timeout still lets data through: peer answers at 300 ms.
intr_run data with "$V" -T 500 -d 300 -c 1 -m recv
intr_expect data "with lib: SO_RCVTIMEO=500ms, answer at 300 ms" ok 250 700

# Not a storm but two signals, at 475 and 950 ms, with SO_RCVTIMEO = 1000 ms:
# the second lands while the library waits out the rest of the first
# resume; the read must still end at ~1000 ms, not a whole timeout later.
intr_run two with "$V" -T 1000 -d -1 -m recv -s WINCH -i 475 -n 2
intr_expect two "with lib: SO_RCVTIMEO=1000ms recv, SIGWINCH at 475 and 950 ms" eagain 950 1300

# The same for writes with SO_SNDTIMEO (send buffer full, peer never reads).
X=$CT_BIN/intr_write
intr_run wo-snd without "$X" -T 500 -d 20000
intr_expect wo-snd "without lib: SO_SNDTIMEO=500ms write, storm" eintr 0 400
intr_run snd with "$X" -T 500 -d 20000
intr_expect snd "with lib: SO_SNDTIMEO=500ms write, storm" eagain 450 900
intr_run snd2 with "$X" -T 1000 -d 20000 -s WINCH -i 475 -n 2
intr_expect snd2 "with lib: SO_SNDTIMEO=1000ms write, SIGWINCH at 475 and 950 ms" eagain 950 1300
intr_done
