# SIGWINCH/SIGHUP land while a MySQL-like client is blocked in a
# socket read (handlers installed without SA_RESTART, EINTR treated as fatal:
# "2013 Lost connection").  The peer answers after 1 s, in two chunks 200 ms
# apart; signals arrive every 50 ms.  Without sockfix the read fails with
# EINTR; with it the client gets the whole answer and its handlers still run.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
V=$CT_BIN/intr_victim
[ -x "$V" ] || fail "$V not built"

# The variants: label and victim arguments.
variants=(
    "read|-m read"
    "recv|-m recv"
    "recvfrom|-m recvfrom"
    "readv|-m readv"
    "recvmsg|-m recvmsg"
    "tcp6-recv|-k tcp6 -m recv"
    "v4mapped-read|-k mapped -m read"
    "accepted-read|-k tcp4acc -m read"
    "accepted6-recvmsg|-k tcp6acc -m recvmsg"
    "nonblock-connect-read|-k tcp4nb -m read"
    "siginfo-handlers-recv|-H i -m recv"
    "signal+siginterrupt-read|-H G -m read"
    "4-threads-recv|-t 4 -m recv"
    "handlers-after-connect-read|-L -m read"
    "handlers-after-accept-recvmsg|-L -k tcp4acc -m recvmsg"
    "handlers-after-connect-4-threads-recv|-L -t 4 -m recv"
)

# --- without the library: the story (every variant dies of EINTR) ---
intr_start_cases variants without "$V"
intr_expect_cases variants without "without lib:" eintr 0 900

intr_lib_or_skip

# --- with the library: the main story, alone ---
intr_run main with "$V" -m read
if intr_expect main "with lib: read (the story)" ok 1100 5000; then
    intr_need_hits "with lib: read" WINCH 10
    intr_need_hits "with lib: read" HUP 10
fi

# --- with the library: every variant (in parallel, they mostly sleep) ---
intr_start_cases variants with "$V"
intr_expect_cases variants with "with lib:" ok 1100 8000 WINCH 5

# A handler installed with plain signal() (glibc: SA_RESTART) keeps working
# under the library, with and without it the data arrives.
intr_run sig with "$V" -H g -m read
intr_expect sig "with lib: signal() handlers (SA_RESTART) read" ok 1100 5000 &&
    intr_need_hits "with lib: signal() handlers" WINCH 10

intr_done
