# What the kernel gets when sockfix resumes a call: each socket read or
# write below blocks on 127.0.0.1 while another process sends SIGWINCH 6
# times (handler without SA_RESTART), under strace, which prints each
# system call's arguments as the raw register values (-e raw=all).  With
# the library, every call on the socket that a signal interrupted must be
# followed by the same system call with the same registers: length 7777,
# the flags (MSG_WAITALL, MSG_NOSIGNAL|MSG_MORE), the buffer, iovec array,
# msghdr, address and address length; what those point at is the program's
# own memory, which sockfix only passes on.  At least 3 resumes must be
# seen, and the first interrupted call must be the one the program asked
# for (so that the trace is about the right call).  The program checks the
# count, the data and the bytes past the buffer itself (intr_same_call.c),
# and that errno is what it set before the call (EDOM), as after the
# kernel's own restart, not the EINTR of an attempt that failed.
# Without the library the call is interrupted once and the program sees
# EINTR.  The buflen of the _chk variants never reaches the kernel: one
# smaller than the length would abort the program in libc's check.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
X=$CT_BIN/intr_same_call
[ -x "$X" ] || fail "$X not built"
need strace
strace -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted?)"
if command -v nm >/dev/null; then
    syms=$(nm -D --undefined-only "$X")
    for s in __read_chk __recv_chk __recvfrom_chk read recv recvfrom; do
        printf '%s\n' "$syms" | grep -qw "$s" || fail "intr_same_call does not import $s (fortify did not act as expected)"
    done
fi

# "CALL|the system call it makes, as strace -e raw=all prints it (FD the
# socket, _ any pointer)": 0x1e61 is 7777, 0x100 MSG_WAITALL, 0xc000
# MSG_NOSIGNAL|MSG_MORE, 0x10 the length of a sockaddr_in, 0 NULL.
cases=(
    "read|read(FD, _, 0x1e61)"
    "__read_chk|read(FD, _, 0x1e61)"
    "readv|readv(FD, _, 0x2)"
    "recv|recvfrom(FD, _, 0x1e61, 0x100, 0, 0)"
    "__recv_chk|recvfrom(FD, _, 0x1e61, 0x100, 0, 0)"
    "recvfrom|recvfrom(FD, _, 0x1e61, 0x100, _, _)"
    "__recvfrom_chk|recvfrom(FD, _, 0x1e61, 0x100, _, _)"
    "recvmsg|recvmsg(FD, _, 0x100)"
    "write|write(FD, _, 0x1e61)"
    "writev|writev(FD, _, 0x2)"
    "send|sendto(FD, _, 0x1e61, 0xc000, 0, 0)"
    "sendto|sendto(FD, _, 0x1e61, 0xc000, _, 0x10)"
    "sendmsg|sendmsg(FD, _, 0xc000)"
)
SYSCALLS=read,readv,recvfrom,recvmsg,write,writev,sendto,sendmsg

# start with|without: every case under strace, side by side (intr_start: a
# 30 s cap; the program bounds itself to 20 s, see intr_same_call.c).  Only
# the program is traced (no -f): its helper child's calls stay out.
start() {
    local how=$1 i=0 c pre=()
    [ "$how" = with ] && pre=(-E "LD_PRELOAD=$CT_LIB" -E SOCKFIX_CONFIG=/dev/null)
    for c in "${cases[@]}"; do
        intr_start "$how$i" without strace -qq -o "$CT_TMP/$how$i.trace" -e trace=$SYSCALLS \
            -e signal=none -e raw=all "${pre[@]}" "$X" "${c%%|*}"
        i=$((i + 1))
    done
}

# resumes TRACE FD SHAPE RESUME_ALL: goes through the calls on socket FD in
# the trace and prints a line for each fault: the first interrupted call
# (ERESTART*, EINTR: the program's own) not of SHAPE, an interrupted call
# followed by a different call on the socket, or (RESUME_ALL 1) by none
# (the next traced call is shown then).
# Then "interrupted=N resumed=N" and the first interrupted call.
resumes() {
    awk -v fd="$(printf '0x%x' "$2")" -v shape="$3" -v resume_all="$4" '
        BEGIN {
            re = shape
            sub(/FD/, fd, re)
            gsub(/[(]/, "[(]", re)
            gsub(/[)]/, "[)]", re)
            gsub(/_/, "0x[0-9a-f]+", re)
            re = "^" re "$"
        }
        # What came next in the trace, for an interrupted call the socket
        # never saw again.
        want != "" && after == "" { after = $0; sub(/ *= .*/, "", after) }
        index($0, "(" fd ",") {
            call = $0; sub(/ *= .*/, "", call)
            res = $0; sub(/^[^=]*= /, "", res)
            if (want != "") {
                if (call == want) resumed++
                else print "interrupted: " want "; then: " call
                want = ""
            }
            if (res ~ /^(\?|-1) (ERESTART|EINTR)/) {
                if (!interrupted++) {
                    first = call
                    if (call !~ re) print "interrupted call " call " is not " shape
                }
                want = call
                after = ""
            }
        }
        END {
            if (want != "" && resume_all)
                print "interrupted: " want "; then: no call on the socket" (after == "" ? "" : ", the next one traced: " after)
            print "interrupted=" interrupted + 0 " resumed=" resumed + 0
            print first
        }
    ' "$1"
}

# traced ID SHAPE RESUME_ALL (after intr_finish ID): runs resumes on the
# trace of case ID, for the socket the program named.  Sets T_INT and T_RES
# (the counts), T_FIRST (the first interrupted call) and T_FAULTS (one line
# each, empty if none).
traced() {
    local fd v
    fd=$(printf '%s\n' "$R_OUT" | sed -n 's/^pid=.* fd=\([0-9]*\) .*/\1/p')
    [ -n "$fd" ] || { T_INT=0 T_RES=0 T_FIRST= T_FAULTS="the program named no socket"; return; }
    v=$(resumes "$CT_TMP/$1.trace" "$fd" "$2" "$3")
    T_FAULTS=$(printf '%s\n' "$v" | head -n -2)
    T_FIRST=$(printf '%s\n' "$v" | tail -n 1)
    v=$(printf '%s\n' "$v" | tail -n 2 | head -n 1)
    T_INT=${v#interrupted=}; T_INT=${T_INT%% *}
    T_RES=${v##*resumed=}
}

# trace_bad LABEL WHAT: a fault in the trace (the program's output is shown
# once, by intr_expect, if it failed too).
trace_bad() {
    echo "FAIL [$1]: $2"
    INTR_FAILS=$((INTR_FAILS + 1))
}

start without
i=0
for c in "${cases[@]}"; do
    label="without lib: ${c%%|*}"
    intr_finish "without$i"
    if intr_expect "without$i" "$label" eintr 0 2000; then
        traced "without$i" "${c#*|}" 0
        if [ -n "$T_FAULTS" ] || [ "$T_INT" != 1 ] || [ "$T_RES" != 0 ]; then
            trace_bad "$label" "expected one interrupted call and no other, trace: interrupted=$T_INT resumed=$T_RES $T_FAULTS"
        else
            echo "      interrupted once, not made again: $T_FIRST"
        fi
    fi
    i=$((i + 1))
done
intr_lib_or_skip

# With the library the trace is checked even when the program failed: it
# shows what the kernel got instead.
start with
i=0
for c in "${cases[@]}"; do
    label="with lib: ${c%%|*}"
    intr_finish "with$i"
    intr_expect "with$i" "$label" ok 200 5000 && intr_need_hits "$label" WINCH 3
    traced "with$i" "${c#*|}" 1
    if [ -n "$T_FAULTS" ]; then
        trace_bad "$label" "in the trace:"$'\n'"$(printf '%s\n' "$T_FAULTS" | sed 's/^/    # /')"
    elif [ "$T_RES" -lt 3 ]; then
        trace_bad "$label" "$T_RES resumed calls in the trace, at least 3 expected"
    else
        echo "      made again $T_RES times, the same: $T_FIRST"
    fi
    i=$((i + 1))
done
intr_done
