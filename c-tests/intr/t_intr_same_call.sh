# What the kernel gets when sockfix resumes a call: each socket read or
# write below blocks on 127.0.0.1 while another process sends SIGWINCH 6
# times (handler without SA_RESTART), and strace records the system calls
# with their arguments as raw register values (-e raw=all).  With the
# library, every call on the socket that a signal interrupted must be
# followed by the same system call with the same six registers: the same
# length (7777), flags (MSG_WAITALL, MSG_NOSIGNAL|MSG_MORE), buffer, iovec
# array, address and address length.  What those pointers point at (iovecs,
# msghdr) is the program's memory, which sockfix only passes on.  At least
# 3 resumes must be seen, and the interrupted call must have the shape the
# program asked for (so that the trace is about the right call); the
# program itself checks the count, the data and the bytes past the buffer
# (intr_same_call.c).  Without the library the call is interrupted once and
# the program sees EINTR.  The _chk variants' buflen never reaches the
# kernel: a wrong one would abort the program in libc's check instead.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/intr/intr_lib.sh"
X=$CT_BIN/intr_same_call
[ -x "$X" ] || fail "$X not built"
need strace
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

# resumes TRACE FD SHAPE RESUME_ALL: goes through the calls on socket FD in the trace
# and prints "interrupted=N resumed=N", and a line for each fault: an
# interrupted call (ERESTART*, EINTR) not of SHAPE, or followed by a
# different call on the socket, or (RESUME_ALL 1) by none.  The last line is the first
# call that was interrupted.  Exit 1 on a fault.
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
        index($0, "(" fd ",") {
            call = $0; sub(/ *= .*/, "", call)
            res = $0; sub(/^[^=]*= /, "", res)
            if (want != "") {
                if (call == want) resumed++
                else { print "interrupted: " want "; then: " call; faults++ }
                want = ""
            }
            if (res ~ /^(\?|-1) (ERESTART|EINTR)/) {
                if (!interrupted++) first = call
                if (call !~ re) { print "interrupted call " call " is not " shape; faults++ }
                want = call
            }
        }
        END {
            if (want != "" && resume_all) { print "interrupted: " want "; then: nothing"; faults++ }
            print "interrupted=" interrupted + 0 " resumed=" resumed + 0
            print first
            exit (faults > 0)
        }
    ' "$1"
}

start without
i=0
for c in "${cases[@]}"; do
    label="without lib: ${c%%|*}"
    intr_finish "without$i"
    if intr_expect "without$i" "$label" eintr 0 2000; then
        fd=$(printf '%s\n' "$R_OUT" | sed -n 's/^pid=.* fd=\([0-9]*\) .*/\1/p')
        v=$(resumes "$CT_TMP/without$i.trace" "$fd" "${c#*|}" 0) ||
            intr_bad "$label" "trace: $v"
        case $v in
            interrupted=1\ resumed=0*) echo "      interrupted once, not made again: $(printf '%s\n' "$v" | tail -n 1)" ;;
            *) intr_bad "$label" "expected one interrupted call and no other, trace: $v" ;;
        esac
    fi
    i=$((i + 1))
done
intr_lib_or_skip

start with
i=0
for c in "${cases[@]}"; do
    label="with lib: ${c%%|*}"
    intr_finish "with$i"
    if intr_expect "with$i" "$label" ok 200 5000 && intr_need_hits "$label" WINCH 3; then
        fd=$(printf '%s\n' "$R_OUT" | sed -n 's/^pid=.* fd=\([0-9]*\) .*/\1/p')
        if ! v=$(resumes "$CT_TMP/with$i.trace" "$fd" "${c#*|}" 1); then
            intr_bad "$label" "$(printf '%s\n' "$v" | head -n -1)"
        else
            n=$(printf '%s\n' "$v" | sed -n 's/^interrupted=.* resumed=\([0-9]*\)$/\1/p')
            if [ "${n:-0}" -lt 3 ]; then
                intr_bad "$label" "only ${n:-0} resumed calls in the trace, at least 3 expected"
            else
                echo "      $n times made again, the same: $(printf '%s\n' "$v" | tail -n 1)"
            fi
        fi
    fi
    i=$((i + 1))
done
intr_done
