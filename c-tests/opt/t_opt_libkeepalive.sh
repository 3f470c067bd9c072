# libkeepalive's names KEEPALIVE/KEEPIDLE/KEEPINTVL/KEEPCNT work where the
# SOCKFIX_ twin is unset (the failover story's libkeepalive systemd unit: KEEPIDLE=7 KEEPINTVL=1
# KEEPCNT=3), the SOCKFIX_ twin wins where both are set.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
need_lib

probe_lib KEEPIDLE=7 KEEPINTVL=1 KEEPCNT=3 -- tcp 127.0.0.1
expect "libkeepalive unit: KEEPIDLE=7 KEEPINTVL=1 KEEPCNT=3" connect=ok errno_kept=1 keepalive=1 idle=7 intvl=1 cnt=3 user_timeout=0

probe_lib KEEPIDLE=7 SOCKFIX_KEEPIDLE=8 -- tcp 127.0.0.1
expect "SOCKFIX_KEEPIDLE=8 over KEEPIDLE=7" connect=ok keepalive=1 idle=8 intvl=15 cnt=9

probe_lib KEEPINTVL=2 SOCKFIX_KEEPINTVL=4 KEEPCNT=6 -- tcp 127.0.0.1
expect "SOCKFIX_KEEPINTVL over KEEPINTVL, KEEPCNT alone" connect=ok intvl=4 cnt=6

probe_lib KEEPCNT=6 SOCKFIX_KEEPCNT=5 -- tcp 127.0.0.1
expect "SOCKFIX_KEEPCNT over KEEPCNT" connect=ok cnt=5

for v in off 0; do
    probe_lib KEEPALIVE=$v -- tcp 127.0.0.1
    expect "KEEPALIVE=$v disables" connect=ok $UNTOUCHED
done

probe_lib KEEPALIVE=off SOCKFIX_KEEPALIVE=on -- tcp 127.0.0.1
expect "SOCKFIX_KEEPALIVE=on over KEEPALIVE=off" connect=ok $DEFAULTS

probe_lib KEEPALIVE=on SOCKFIX_KEEPALIVE=off -- tcp 127.0.0.1
expect "SOCKFIX_KEEPALIVE=off over KEEPALIVE=on" connect=ok $UNTOUCHED

# auto user timeout follows the libkeepalive values (idle + intvl * cnt),
# but is never under 60 s: 7 + 1*3 = 10 s gives 60 s, 30 + 10*4 = 70 s.
probe_lib KEEPIDLE=7 KEEPINTVL=1 KEEPCNT=3 SOCKFIX_USER_TIMEOUT=auto -- tcp 127.0.0.1
expect "USER_TIMEOUT=auto with libkeepalive names (at least 60 s)" connect=ok idle=7 intvl=1 cnt=3 user_timeout=60000
probe_lib KEEPIDLE=30 KEEPINTVL=10 KEEPCNT=4 SOCKFIX_USER_TIMEOUT=auto -- tcp 127.0.0.1
expect "USER_TIMEOUT=auto with libkeepalive names (over 60 s)" connect=ok idle=30 intvl=10 cnt=4 user_timeout=70000

# IPv6 too.
if ipv6_lo; then
    probe_lib KEEPIDLE=7 KEEPINTVL=1 KEEPCNT=3 -- tcp-nb ::1
    expect "libkeepalive names, IPv6 non-blocking" connect=ok keepalive=1 idle=7 intvl=1 cnt=3
fi
exit 0
