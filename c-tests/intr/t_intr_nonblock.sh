# A TCP socket that was non-blocking and is blocking again has its blocking
# reads (and writes) resumed, after histories a library can follow (fcntl,
# fcntl64, ioctl, SOCK_NONBLOCK, accept4, dups, SCM_RIGHTS, fork). A call on
# a non-blocking socket cannot be interrupted, but sockfix does not skip the
# resume on sockets it saw made non-blocking: wherever the mode changed
# unseen, the program would get the EINTR (those histories are in
# t_intr_nonblock_gaps, run by the same program). intr_nonblock.c walks one
# connection on 127.0.0.1 through each history below, checks every step
# (EAGAIN while non-blocking, F_GETFL blocking at the end), then blocks in
# read (recv, write) while another process sends SIGWINCH+SIGHUP every 30 ms
# (handlers without SA_RESTART); the peer sends 3 x 1000 bytes from 600 ms
# on. The peer's writer (or reader) and the storm are the program itself,
# spawned before the history and released after it. Without sockfix every
# case sees EINTR (so the test can fail); with it none may, and every byte
# must arrive in order. Two histories change the mode through another holder
# of the open file than a dup: the copy received from an SCM_RIGHTS send,
# and a fork child. Then, with no signals: a socket left non-blocking gives
# the same EAGAIN and data with the library as without.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
P=$CT_BIN/intr_nonblock
[ -x "$P" ] || fail "$P not built"

# label|mode
cases=(
    "read on a socket made with SOCK_NONBLOCK (connect EINPROGRESS), made blocking again by fcntl(F_SETFL)|sock-fcntl"
    "read on a socket made non-blocking by fcntl(F_SETFL), then blocking again by fcntl(F_SETFL)|fcntl-on-off"
    "read on a socket made non-blocking by fcntl64(F_SETFL), then blocking again by fcntl64(F_SETFL)|fcntl64"
    "read on a socket made non-blocking by ioctl(FIONBIO, 1), then blocking again by ioctl(FIONBIO, 0)|ioctl"
    "read on a socket made non-blocking by fcntl(F_SETFL), then blocking again by fcntl64(F_SETFL)|fcntl-fcntl64"
    "read on a socket made non-blocking by fcntl(F_SETFL), then blocking again by ioctl(FIONBIO, 0)|fcntl-ioctl"
    "recv on a socket made non-blocking by ioctl(FIONBIO, 1), then blocking again by ioctl(FIONBIO, 0)|recv"
    "read on a socket accepted with accept4(SOCK_NONBLOCK), made blocking again by fcntl(F_SETFL)|accept4"
    "read on a socket from plain accept() on a SOCK_NONBLOCK listener (blocking: O_NONBLOCK is not inherited)|accept-nb-listener"
    "read on fd made non-blocking, then blocking again through its dup()|dup-after"
    "read on fd dup()ed first, made non-blocking through fd, blocking again through the dup|dup-before"
    "read on the dup() of fd, made non-blocking through the dup, blocking again through fd|dup-copy"
    "read on fd made non-blocking, then blocking again through its dup2() copy|dup2"
    "read on fd made non-blocking, then blocking again through its dup3(O_CLOEXEC) copy|dup3"
    "read on fd made non-blocking, then blocking again through its fcntl(F_DUPFD_CLOEXEC) copy|fdupfd"
    "read on an fd received with SCM_RIGHTS, made non-blocking through it, blocking again through the original|scm-received"
    "read on fd made non-blocking, then blocking again through its SCM_RIGHTS copy (the sender's fd)|scm-sender"
    "read on fd made non-blocking, then blocking again by a fork child|fork-child"
    "2 MB write on a socket made non-blocking by fcntl(F_SETFL), then blocking again by fcntl(F_SETFL)|write"
)

# Without the library: EINTR in every case (the storm does reach the calls).
intr_start_cases cases without "$P"
intr_start left-without without "$P" left-nonblock
i=0
for c in "${cases[@]}"; do
    intr_finish "without$i"
    intr_expect "without$i" "without lib: ${c%%|*}" eintr 0 8000 &&
        echo "      $(intr_field eintr) EINTRs reached the program"
    i=$((i + 1))
done
intr_finish left-without
intr_expect left-without "without lib: a socket left non-blocking (SOCK_NONBLOCK, fcntl, fcntl64, ioctl, accept4): EAGAIN when empty, the data when sent" ok

intr_lib_or_skip

# With it: no EINTR, every byte, and the call did block until the peer's
# data (600 ms): it was resumed, not turned non-blocking.
intr_start_cases cases with "$P"
intr_start left-with with "$P" left-nonblock
intr_expect_resumed_cases cases
intr_finish left-with
intr_expect left-with "with lib: a socket left non-blocking (SOCK_NONBLOCK, fcntl, fcntl64, ioctl, accept4): EAGAIN when empty, the data when sent" ok
intr_done
