# SOCKFIX_SERVER: off (default) leaves accepted connections (and so the
# listener they inherit from) untouched; on gives them keepalive and the user
# timeout. Checked on the accepted socket of accept() and accept4(); options
# the program set on the listener (inherited in the kernel) stay the program's.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"

probe_nolib -- accept 127.0.0.1
expect "without library, accepted socket" connect=ok $UNTOUCHED
need_lib

addrs=(127.0.0.1)
ipv6_lo && addrs+=(::1)
for a in "${addrs[@]}"; do
    for s in accept accept4; do
        probe_lib -- $s $a
        expect "$s $a, SOCKFIX_SERVER unset" connect=ok $UNTOUCHED
        probe_lib SOCKFIX_SERVER=off SOCKFIX_USER_TIMEOUT=30s -- $s $a
        expect "$s $a, SOCKFIX_SERVER=off" connect=ok $UNTOUCHED
        probe_lib SOCKFIX_SERVER=on -- $s $a
        expect "$s $a, SOCKFIX_SERVER=on" connect=ok $DEFAULTS
        probe_lib SOCKFIX_SERVER=1 SOCKFIX_KEEPIDLE=20 SOCKFIX_USER_TIMEOUT=30s -- $s $a
        expect "$s $a, SOCKFIX_SERVER=1, KEEPIDLE=20, USER_TIMEOUT=30s" connect=ok keepalive=1 idle=20 intvl=15 cnt=9 user_timeout=30000
    done
    # Options the program set on its listener are inherited by the accepted
    # socket in the kernel: they are the program's, and stay.
    probe_lib SOCKFIX_SERVER=on -- --pre idle=77 accept $a
    expect "accept $a, SOCKFIX_SERVER=on, listener has TCP_KEEPIDLE=77" connect=ok keepalive=1 idle=77 intvl=15 cnt=9
    probe_lib SOCKFIX_SERVER=on -- --pre keepalive=0 accept4 $a
    expect "accept4 $a, SOCKFIX_SERVER=on, listener has SO_KEEPALIVE=0" connect=ok keepalive=0
    probe_lib SOCKFIX_SERVER=on SOCKFIX_USER_TIMEOUT=30s -- --pre user_timeout=500 accept $a
    expect "accept $a, SOCKFIX_SERVER=on, listener has TCP_USER_TIMEOUT=500" connect=ok keepalive=1 user_timeout=500
done
exit 0
