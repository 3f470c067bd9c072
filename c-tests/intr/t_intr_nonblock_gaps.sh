# A TCP socket made non-blocking, then blocking again in a way no preload
# library sees (glibc's __fcntl and __dup2 aliases, a _Fork() child, a fork
# before the change, an ioctl request with high bits set, a race with the
# change, a socket received with recvmmsg onto a reused number, a program run
# by system()), has its blocking reads resumed like any other's: sockfix
# does not skip the resume on sockets it saw made non-blocking (a library
# that did lost the resume in each of these). intr_nonblock.c (the program
# of t_intr_nonblock, these are its other modes) walks one connection through
# each history, checks that F_GETFL says blocking at the end, then reads
# while another process sends SIGWINCH+SIGHUP every 30 ms (handlers without
# SA_RESTART); the writer and the storm are the program itself, spawned with
# posix_spawn before the history, so no fork after it can hide a gap.
# Without the library each gets EINTR; with it none may. control-plain (never
# non-blocking) checks the harness; the changes a library can see are
# t_intr_nonblock's.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
P=$CT_BIN/intr_nonblock
[ -x "$P" ] || fail "$P not built"

# label|mode
cases=(
    "control: a socket never made non-blocking|control-plain"
    "fork() while blocking, then the parent sets O_NONBLOCK and the child clears it|fork-then-nb"
    "O_NONBLOCK cleared by ioctl(FIONBIO + bit 32 set in the request; the kernel reads it as an unsigned int)|ioctl-hibits"
    "O_NONBLOCK cleared by __fcntl (glibc's exported alias of fcntl)|__fcntl"
    "O_NONBLOCK cleared through a copy made by __dup2 (glibc's exported alias of dup2)|__dup2"
    "O_NONBLOCK cleared by a _Fork() child (glibc 2.34: no fork handlers)|_Fork"
    "fcntl(F_SETFL, O_NONBLOCK) with a fcntl(F_SETFL, blocking) between its syscall and the hook's record (forced with seccomp)|setfl-race"
    "a blocking socket received with recvmmsg onto the number of a closed non-blocking socket|recvmmsg-reuse"
    "O_NONBLOCK cleared by a program run with system() (posix_spawn: no fork handlers)|system"
)

intr_start_cases cases without "$P"
i=0
for c in "${cases[@]}"; do
    intr_finish "without$i"
    intr_expect "without$i" "without lib: ${c%%|*}" eintr 0 8000
    i=$((i + 1))
done

intr_lib_or_skip

intr_start_cases cases with "$P"
intr_expect_resumed_cases cases
intr_done
