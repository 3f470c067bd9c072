# fds closed behind the library's back and reused as files, UDP sockets and
# the write end of a pipe (t_intr_fdreuse covers reads of pipes): an fd number that was a connected TCP socket,
# with the library's options on it (keepalive, linger, source address and
# port range, idle check) and a read through its tracked path, is closed with
# close_range, closefrom or a raw syscall(SYS_close), then reused by open() of
# a regular file, by socket(AF_INET, SOCK_DGRAM) or by a raw
# syscall(SYS_socket), or by a pipe moved there with raw syscalls. Everything
# the program then does with it (writes after
# an idle period longer than SOCKFIX_IDLE_CHECK, reads, readv, seeks, recv and
# send on a file, connect and its source address, socket options, blocking
# read/recv/recvmsg/poll/select interrupted by SIGWINCH; a write after an
# idle period to a pipe whose reader left gets the kernel's EPIPE and SIGPIPE,
# not the idle check's refusal) must give exactly the same transcript as
# without the library.
source "$CT_ROOT/c-tests/common/lib.sh"
[ -e "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings LD_PRELOAD
P=$CT_BIN/hard_fdreuse
[ -x "$P" ] || fail "$P not built"
# 127.0.0.2 answers on loopback (127.0.0.0/8) on Linux.
SETTINGS=(SOCKFIX_KEEPIDLE=1 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=2 SOCKFIX_USER_TIMEOUT=auto
    SOCKFIX_LINGER=0 SOCKFIX_BIND=127.0.0.2 SOCKFIX_PORTS=40000-40999 SOCKFIX_IDLE_CHECK=1s)

declare -A PID
for mode in file udp udp_raw pipe; do
    for how in close_range closefrom sys_close; do
        for lib in without with; do
            id=$mode-$how-$lib
            mkdir -p "$CT_TMP/$id"
            if [ $lib = with ]; then
                env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null "${SETTINGS[@]}" \
                    timeout -k 2 20 "$P" $mode $how "$CT_TMP/$id" >"$CT_TMP/$id.out" 2>"$CT_TMP/$id.err" &
            else
                env -u LD_PRELOAD timeout -k 2 20 "$P" $mode $how "$CT_TMP/$id" >"$CT_TMP/$id.out" 2>"$CT_TMP/$id.err" &
            fi
            PID[$id]=$!
            track $!
        done
    done
done

bad=0
for mode in file udp udp_raw pipe; do
    for how in close_range closefrom sys_close; do
        for lib in without with; do
            wait "${PID[$mode-$how-$lib]}"
            rc=$?
            if [ $rc = 77 ] || grep -q 'setup error: close behind the back: ENOSYS' "$CT_TMP/$mode-$how-$lib.out"; then
                note "$mode $how: not supported here"; continue 2
            fi
            [ $rc = 0 ] || { cat "$CT_TMP/$mode-$how-$lib.out" "$CT_TMP/$mode-$how-$lib.err"; fail "$mode $how $lib the library: exit $rc"; }
        done
        a=$CT_TMP/$mode-$how-without.out b=$CT_TMP/$mode-$how-with.out
        grep -q '^reused the number: yes' "$a" || fail "$mode $how: the fd number was not reused: the test is broken"
        # The library was at work on the TCP socket before it was closed.
        p1=$(grep '^# phase1' "$b")
        case $p1 in *"keepalive=1 idle=1 linger=1/0"*) ;; *) fail "$mode $how: the library did not act on the TCP socket: $p1";; esac
        if ! diff <(grep -v '^#' "$a") <(grep -v '^#' "$b") >"$CT_TMP/diff"; then
            echo "FAIL [$mode via $how]: behaviour changed with the library (< without, > with):"
            sed 's/^/    /' "$CT_TMP/diff"
            bad=$((bad + 1))
        else
            note "ok: $mode via $how: $(grep -cv '^#' "$a") observations identical"
        fi
        [ -s "$CT_TMP/$mode-$how-with.err" ] && { echo "FAIL [$mode via $how]: stderr: $(head -c 300 "$CT_TMP/$mode-$how-with.err")"; bad=$((bad + 1)); }
    done
done
[ $bad = 0 ] || fail "$bad case(s) behaved differently"
note "a sample transcript (udp, without the library):"
sed 's/^/#   /' "$CT_TMP/udp-sys_close-without.out"
echo "ok: files and UDP sockets on a reused TCP fd number behave as without the library"
