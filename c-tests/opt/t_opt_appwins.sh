# The application's own setsockopt wins: set before connect, the library
# leaves that option alone (and its log says so, with the program's value);
# set after connect, the app's call goes through. With SOCKFIX_FORCE the
# settings win over what the program set before connect, and a call the
# program makes after connect still takes effect.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"

# Sanity of the probe's own setsockopt, without the library.
probe_nolib -- --pre idle=77 --pre keepalive=0 tcp 127.0.0.1
expect "without library, app sets idle=77 keepalive=0" connect=ok keepalive=0 idle=77
need_lib

styles=("tcp 127.0.0.1" "tcp-nb 127.0.0.1")
ipv6_lo && styles+=("tcp-proto ::1")
for s in "${styles[@]}"; do
    probe_lib -- --pre idle=77 --pre keepalive=0 $s
    expect "$s: app sets TCP_KEEPIDLE=77, SO_KEEPALIVE=0 before connect" connect=ok errno_kept=1 keepalive=0 idle=77

    probe_lib -- --pre keepalive=0 $s
    expect "$s: app sets SO_KEEPALIVE=0 before connect" connect=ok keepalive=0

    probe_lib -- --pre idle=77 $s
    expect "$s: app sets only TCP_KEEPIDLE=77 before connect" connect=ok keepalive=1 idle=77 intvl=15 cnt=9

    probe_lib -- --pre intvl=3 --pre cnt=5 $s
    expect "$s: app sets TCP_KEEPINTVL=3 TCP_KEEPCNT=5 before connect" connect=ok keepalive=1 idle=15 intvl=3 cnt=5

    probe_lib SOCKFIX_USER_TIMEOUT=30s -- --pre user_timeout=1234 $s
    expect "$s: app sets TCP_USER_TIMEOUT=1234 before connect (library: 30s)" connect=ok keepalive=1 user_timeout=1234

    probe_lib SOCKFIX_USER_TIMEOUT=30s -- --pre user_timeout=0 $s
    expect "$s: app sets TCP_USER_TIMEOUT=0 before connect (library: 30s)" connect=ok keepalive=1 user_timeout=0

    probe_lib -- --post idle=66 $s
    expect "$s: app sets TCP_KEEPIDLE=66 after connect" connect=ok keepalive=1 idle=66 intvl=15 cnt=9

    probe_lib -- --post keepalive=0 $s
    expect "$s: app sets SO_KEEPALIVE=0 after connect" connect=ok keepalive=0 idle=15

    probe_lib SOCKFIX_USER_TIMEOUT=30s -- --post user_timeout=0 --post cnt=2 $s
    expect "$s: app sets TCP_USER_TIMEOUT=0 TCP_KEEPCNT=2 after connect" connect=ok user_timeout=0 cnt=2

    # Same value as the library's: still the app's, still fine.
    probe_lib -- --pre keepalive=1 --pre idle=15 $s
    expect "$s: app sets the library's own values" connect=ok $DEFAULTS
done

# The log names what was kept, with the program's value (curl sets 60/60
# itself before connecting: an operator who asked for 7,1,3 must see why).
L=$CT_TMP/appwins.log
probe_lib SOCKFIX_LOG="$L" SOCKFIX_KEEPIDLE=7 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=3 -- --pre idle=60 --pre intvl=60 tcp 127.0.0.1
expect "app sets 60/60 before connect, settings 7,1,3" connect=ok keepalive=1 idle=60 intvl=60 cnt=3
grep -q 'TCP_KEEPCNT=3 SO_KEEPALIVE=1; TCP_KEEPIDLE=60 kept (set by the program); TCP_KEEPINTVL=60 kept (set by the program)$' "$L" ||
    fail "the log does not name the kept options with the program's values: $(cat "$L")"

# SOCKFIX_FORCE: ours replaces what the program set before connect.
for s in "tcp 127.0.0.1" "tcp-nb 127.0.0.1" "accept 127.0.0.1"; do
    : >"$L"
    probe_lib SOCKFIX_FORCE=on SOCKFIX_LOG="$L" SOCKFIX_SERVER=on SOCKFIX_KEEPIDLE=7 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=3 \
        SOCKFIX_USER_TIMEOUT=30s -- --pre idle=60 --pre intvl=60 --pre keepalive=0 --pre user_timeout=1234 $s
    expect "$s: FORCE, app set 60/60, keepalive off, user timeout 1234 before connect" \
        connect=ok keepalive=1 idle=7 intvl=1 cnt=3 user_timeout=30000
    grep -q 'TCP_KEEPIDLE=7 (replaced the program.s 60: SOCKFIX_FORCE)' "$L" ||
        fail "$s: the log does not say what FORCE replaced: $(cat "$L")"
done
probe_lib SOCKFIX_FORCE=on SOCKFIX_KEEPIDLE=7 -- --pre idle=60 --post idle=50 --post keepalive=0 tcp 127.0.0.1
expect "FORCE: the app's calls after connect still take effect" connect=ok keepalive=0 idle=50
probe_lib SOCKFIX_FORCE=off SOCKFIX_KEEPIDLE=7 -- --pre idle=60 tcp 127.0.0.1
expect "FORCE=off: the app's own value is kept" connect=ok keepalive=1 idle=60

# The library's settings off entirely: the app's keepalive is still the app's.
probe_lib SOCKFIX_KEEPALIVE=off -- --pre keepalive=1 --pre idle=30 tcp 127.0.0.1
expect "SOCKFIX_KEEPALIVE=off, app turns keepalive on itself" connect=ok keepalive=1 idle=30 intvl=$K_INTVL cnt=$K_CNT user_timeout=0
exit 0
