# The signal-origin rule (issue 9): a blocking socket call interrupted by a
# signal is resumed only when the signal came from OUTSIDE the process
# (another process, the terminal); a signal the process produced itself
# (kill/sigqueue/tgkill of its own pid, pthread_kill, its timers, its
# child's exit, its own SIGIO/SIGURG, its mq_notify or AIO) passes: the
# program sees EINTR exactly as without the library.
#
# intr_origin blocks in one call (read, recv, poll, select, write into a full
# send buffer, connect into a full accept queue) on loopback TCP; the peer
# answers at D ms; one signal of the chosen origin comes at T ms. Handlers
# without SA_RESTART, EINTR fatal.
#   resumed: result ok after >= D ms (the data arrived), the signal ran at T
#   passes:  result eintr soon after T
# The whole matrix runs WITHOUT the library first: every case must be eintr
# there, which proves that each signal really interrupts its call. Cases run
# with SOCKFIX_EINTR_PASS=INT, so that the origin decides, not the pass list
# (SIGALRM of setitimer, above all), unless the case is about the pass list.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
P=$CT_BIN/intr_origin
[ -x "$P" ] || fail "$P not built"
T=300 D=1500
BATCH=24 # cases side by side: most of the time they sleep

CALLS=(read recv poll select write connect)
# origin|verdict with the library (the si_code/si_pid it produces)
ORIGINS=(
    "kill-other|resumed"     # SI_USER, si_pid = another process
    "sigqueue-other|resumed" # SI_QUEUE, another process
    "tgkill-other|resumed"   # SI_TKILL, another process, aimed at our thread
    "tty|resumed"            # SIGWINCH, SI_KERNEL: our terminal was resized
    "tty-hangup|resumed"     # SIGHUP, SI_KERNEL: our terminal hung up
    "kill-self|passes"       # SI_USER, si_pid = us (a helper thread)
    "sigqueue-self|passes"   # SI_QUEUE, us
    "pthread-kill|passes"    # SI_TKILL, us
    "tgkill-self|passes"     # SI_TKILL, us (the syscall behind raise)
    "timer|passes"           # SI_TIMER, timer_create SIGEV_SIGNAL
    "timer-thread|passes"    # SI_TIMER, SIGEV_THREAD_ID to the blocked thread
    "itimer|passes"          # SIGALRM, SI_KERNEL, setitimer
    "child-exit|passes"      # SIGCHLD, CLD_EXITED, our child
    "sigio|passes"           # SIGIO, SI_KERNEL, O_ASYNC on our pipe
    "sigio-setsig|passes"    # F_SETSIG signal, POLL_IN
    "sigurg|passes"          # SIGURG, SI_KERNEL, F_SETOWN on our socket
    "mq|passes"              # SI_MESGQ, our mq_notify (si_pid = the sender)
    "aio|passes"             # SI_ASYNCIO, our aio_read
)

# label|verdict|env|args
CASES=()
for c in "${CALLS[@]}"; do
    for o in "${ORIGINS[@]}"; do
        CASES+=("$c ${o%%|*}|${o#*|}|SOCKFIX_EINTR_PASS=INT|-c $c -o ${o%%|*} -t $T -d $D")
    done
done
# The stories, with the default settings: screen's SIGWINCH and logrotate's
# SIGHUP, sent by another process while a client waits for its answer.
CASES+=("story: SIGWINCH from another process, read|resumed||-c read -o kill-other -s WINCH -t $T -d $D")
CASES+=("story: SIGHUP from another process (logrotate), read|resumed||-c read -o kill-other -s HUP -t $T -d $D")
CASES+=("story: SIGHUP from another process (logrotate), recv|resumed||-c recv -o kill-other -s HUP -t $T -d $D")
# The pass list still decides for outside signals, and for SIGALRM.
CASES+=("pass list: SIGUSR1 from another process, PASS=INT,USR1|passes|SOCKFIX_EINTR_PASS=INT,USR1|-c read -o kill-other -t $T -d $D")
CASES+=("pass list: SIGINT from another process, default list|passes||-c read -o kill-other -s INT -t $T -d $D")
CASES+=("pass list: setitimer SIGALRM, default list|passes||-c read -o itimer -t $T -d $D")

# check ID LABEL VERDICT: the verdict without the library is always eintr.
check() {
    local id=$1 label=$2 verdict=$3 sig_ms siginfo
    intr_finish "$id"
    sig_ms=$(printf '%s\n' "$R_OUT" | sed -n 's/^result=.* sig_ms=\([0-9-]*\).*/\1/p' | tail -n 1)
    siginfo=$(printf '%s\n' "$R_OUT" | sed -n 's/^siginfo: //p' | tail -n 1)
    case $verdict in
        eintr | passes) intr_expect "$id" "$label" eintr "$((T - 100))" "$((T + 900))" || return 1 ;;
        resumed) intr_expect "$id" "$label" ok "$((D - 100))" || return 1 ;;
    esac
    [ "$(intr_rc_name "$R_RC")" = unsupported ] && return 0
    # The signal must have come, and during the call (before the answer).
    if [ -z "$sig_ms" ] || [ "$sig_ms" -lt 0 ] || [ "$sig_ms" -ge "$D" ]; then
        intr_bad "$label" "the signal did not arrive during the call (sig_ms=${sig_ms:-none})"
        return 1
    fi
    echo "      siginfo $siginfo"
}

run_matrix() { # with|without
    local how=$1 n=${#CASES[@]} b=0 i label verdict envs args
    while [ "$b" -lt "$n" ]; do
        for ((i = b; i < b + BATCH && i < n; i++)); do
            IFS='|' read -r label verdict envs args <<<"${CASES[$i]}"
            # shellcheck disable=SC2086
            intr_start "$how$i" "$how" env $envs "$P" $args
        done
        for ((i = b; i < b + BATCH && i < n; i++)); do
            IFS='|' read -r label verdict envs args <<<"${CASES[$i]}"
            [ "$how" = without ] && verdict=eintr
            check "$how$i" "$how lib: $label${envs:+ ($envs)}" "$verdict"
        done
        b=$((b + BATCH))
    done
}

# A sender outside our PID namespace: si_pid reads 0 (SI_USER). The test
# itself sends SIGUSR1 to the program, run as init of a new PID namespace.
run_outside_ns() { # with|without
    local how=$1 id=ns$1 hp="" k
    if ! unshare --pid --fork --kill-child true 2>/dev/null; then
        echo "skip  [$how lib: SIGUSR1 from outside our PID namespace]: cannot unshare a PID namespace here"
        return 0
    fi
    intr_start "$id" "$how" env SOCKFIX_EINTR_PASS=INT unshare --pid --fork --kill-child "$P" -c read -o external -d "$D"
    for ((k = 0; k < 50; k++)); do # at most 5 s
        grep -q '^blocking in' "$CT_TMP/$id.out" 2>/dev/null && break
        sleep 0.1
    done
    hp=$(sed -n 's/^outer_pid=\([0-9]*\)$/\1/p' "$CT_TMP/$id.out")
    sleep 0.3
    [ -n "$hp" ] && kill -USR1 "$hp"
    check "$id" "$how lib: SIGUSR1 from outside our PID namespace (si_pid 0), read" \
        "$([ "$how" = with ] && echo resumed || echo eintr)"
}

echo "# without the library: every signal interrupts its call"
run_matrix without
run_outside_ns without
intr_lib_or_skip
echo "# with the library"
run_matrix with
run_outside_ns with
intr_done
