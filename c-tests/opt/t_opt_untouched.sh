# UDP and UNIX sockets (stream, dgram, seqpacket) are never touched: with the
# library, even with every option turned up and logging on, SO_KEEPALIVE
# stays 0, connect() succeeds with errno unchanged, and nothing is logged
# about applying options.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"

cases=("udp 127.0.0.1" "unix-stream $CT_TMP/s.sock" "unix-dgram $CT_TMP/d.sock" "unix-seqpacket $CT_TMP/q.sock")
ipv6_lo && cases+=("udp ::1")

for c in "${cases[@]}"; do
    probe_nolib -- $c
    expect "without library, $c" connect=ok errno_kept=1 keepalive=0
done

need_lib
for c in "${cases[@]}"; do
    probe_lib -- $c
    expect "with library (defaults), $c" connect=ok errno_kept=1 keepalive=0 idle=- intvl=- cnt=- user_timeout=-

    probe_lib SOCKFIX_KEEPALIVE=on SOCKFIX_USER_TIMEOUT=30s SOCKFIX_SERVER=on \
        SOCKFIX_KEEPIDLE=5 SOCKFIX_LOG=stderr -- $c
    ERR_OK=1 expect "with library (everything on, log to stderr), $c" connect=ok errno_kept=1 keepalive=0
    if grep -Eq 'TCP_KEEPIDLE|TCP_USER_TIMEOUT|SO_KEEPALIVE' "$CT_TMP/probe.err"; then
        fail "$c: the library logged applying options to a non-TCP socket: $(cat "$CT_TMP/probe.err")"
    fi
done
exit 0
