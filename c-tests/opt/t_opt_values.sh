# Setting values: durations with units (ms/s/m/h, bare = seconds), the
# user timeout (off by default, a duration, or auto = idle + intvl*cnt but
# at least 60 s), the
# keepalive switch with every boolean spelling, a bad value (default kept and
# one log line naming key, value and replacement), and the connect log line.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
need_lib

t() { # t DESC "ENV..." KEY=VALUE...
    local desc=$1 envs=$2
    shift 2
    probe_lib $envs -- tcp 127.0.0.1
    expect "$desc" connect=ok errno_kept=1 "$@"
}

t "defaults" "" $DEFAULTS
t "KEEPIDLE=2m" "SOCKFIX_KEEPIDLE=2m" keepalive=1 idle=120 intvl=15 cnt=9
t "KEEPIDLE=90s" "SOCKFIX_KEEPIDLE=90s" idle=90
t "KEEPIDLE=1h" "SOCKFIX_KEEPIDLE=1h" idle=3600
t "KEEPIDLE=5000ms" "SOCKFIX_KEEPIDLE=5000ms" idle=5
t "KEEPIDLE=25 (bare seconds)" "SOCKFIX_KEEPIDLE=25" idle=25
t "KEEPINTVL=3" "SOCKFIX_KEEPINTVL=3" keepalive=1 idle=15 intvl=3 cnt=9
t "KEEPCNT=4" "SOCKFIX_KEEPCNT=4" keepalive=1 idle=15 intvl=15 cnt=4
t "USER_TIMEOUT=30s" "SOCKFIX_USER_TIMEOUT=30s" keepalive=1 user_timeout=30000
t "USER_TIMEOUT=1500ms" "SOCKFIX_USER_TIMEOUT=1500ms" user_timeout=1500
t "USER_TIMEOUT=2m" "SOCKFIX_USER_TIMEOUT=2m" user_timeout=120000
t "USER_TIMEOUT=20 (bare seconds)" "SOCKFIX_USER_TIMEOUT=20" user_timeout=20000
t "USER_TIMEOUT=off" "SOCKFIX_USER_TIMEOUT=off" user_timeout=0
t "USER_TIMEOUT=auto with 5/2/3 (11 s: raised to 60 s)" "SOCKFIX_KEEPIDLE=5 SOCKFIX_KEEPINTVL=2 SOCKFIX_KEEPCNT=3 SOCKFIX_USER_TIMEOUT=auto" \
    keepalive=1 idle=5 intvl=2 cnt=3 user_timeout=60000
t "USER_TIMEOUT=auto with 40/10/3 (70 s)" "SOCKFIX_KEEPIDLE=40 SOCKFIX_KEEPINTVL=10 SOCKFIX_KEEPCNT=3 SOCKFIX_USER_TIMEOUT=auto" \
    keepalive=1 idle=40 intvl=10 cnt=3 user_timeout=70000
t "USER_TIMEOUT=auto with defaults" "SOCKFIX_USER_TIMEOUT=auto" user_timeout=$(( (15 + 15 * 9) * 1000 ))

# Sub-second interval: TCP_KEEPINTVL is whole seconds, >= 1. Rounding up to
# 1 is what makes sense; any sane value 1..15 is accepted (with a note).
probe_lib SOCKFIX_KEEPINTVL=500ms SOCKFIX_LOG="$CT_TMP/log-ms" -- tcp 127.0.0.1
ERR_OK=1 expect "KEEPINTVL=500ms" connect=ok keepalive=1 idle=15 cnt=9
iv=$(field intvl)
[[ $iv =~ ^[0-9]+$ ]] && [ "$iv" -ge 1 ] && [ "$iv" -le 15 ] || fail "KEEPINTVL=500ms gave intvl=$iv (want 1, or at least 1..15)"
[ "$iv" = 1 ] || note "KEEPINTVL=500ms gave intvl=$iv, not 1 (log: $(cat "$CT_TMP/log-ms" 2>/dev/null))"

# The keepalive switch, every boolean spelling. Off: nothing is set at all,
# so the socket keeps the kernel's defaults.
for v in off 0 no false; do
    t "SOCKFIX_KEEPALIVE=$v" "SOCKFIX_KEEPALIVE=$v" connect=ok $UNTOUCHED
done
for v in on 1 yes true; do
    t "SOCKFIX_KEEPALIVE=$v" "SOCKFIX_KEEPALIVE=$v" $DEFAULTS
done

# A bad value: the default stays, one log line names key, value, replacement.
bad() { # bad KEY VALUE KEY=EXPECTED...
    local key=$1 val=$2 log=$CT_TMP/log-bad-$1
    shift 2
    rm -f "$log"
    probe_lib "$key=$val" SOCKFIX_LOG="$log" -- tcp 127.0.0.1
    ERR_OK=1 expect "bad value $key=$val" connect=ok errno_kept=1 "$@"
    local pid n
    pid=$(field pid)
    [ -s "$log" ] || fail "$key=$val: nothing logged to SOCKFIX_LOG=$log"
    n=$(grep -F -- "$key" "$log" | grep -cw -- "$val")
    [ "$n" = 1 ] || fail "$key=$val: want exactly one log line naming $key and '$val', got $n: $(cat "$log")"
    local l
    l=$(grep -F -- "$key" "$log" | grep -w -- "$val")
    grep -Eq "$(log_re "$pid")" <<<"$l" || fail "$key=$val: log line lacks the 'sockfix[$pid]: ' prefix: $l"
    [[ $l == *"$key"* ]] || fail "$key=$val: log line does not name $key: $l"
    note "logged: $l"
    BADLINE=$l
}
bad SOCKFIX_KEEPIDLE banana $DEFAULTS
[[ $BADLINE == *15* ]] || fail "bad KEEPIDLE: the log line does not say what is used instead (15): $BADLINE"
bad SOCKFIX_KEEPCNT lots $DEFAULTS
[[ $BADLINE == *9* ]] || fail "bad KEEPCNT: the log line does not say what is used instead (9): $BADLINE"
bad SOCKFIX_KEEPINTVL 15parsecs $DEFAULTS
bad SOCKFIX_USER_TIMEOUT soon $DEFAULTS
bad SOCKFIX_KEEPALIVE maybe $DEFAULTS
# Out of the kernel's range (TCP_KEEPIDLE/INTVL 1..32767 s, KEEPCNT 1..127):
# a bad value too, not a silently failing setsockopt.
bad SOCKFIX_KEEPIDLE 0 $DEFAULTS
bad SOCKFIX_KEEPIDLE 40000 $DEFAULTS
bad SOCKFIX_KEEPCNT 200 $DEFAULTS
t "KEEPIDLE=9h (in range)" "SOCKFIX_KEEPIDLE=9h" idle=32400

# A bad value with logging off: still the default, and silent.
t "bad value, logging off" "SOCKFIX_KEEPIDLE=banana" $DEFAULTS

# Logging on: applying the options at connect logs one line with names and
# values; every line starts with sockfix[PID]:. To a file, and to stderr
# (never stdout).
log=$CT_TMP/log-apply
probe_lib SOCKFIX_LOG="$log" SOCKFIX_KEEPIDLE=21 -- tcp 127.0.0.1
ERR_OK=1 expect "SOCKFIX_LOG=file" connect=ok keepalive=1 idle=21
pid=$(field pid)
[ -s "$log" ] || fail "SOCKFIX_LOG=$log: no log written"
bad_prefix=$(grep -Ev "$(log_re "$pid")" "$log")
[ -z "$bad_prefix" ] || fail "log lines without the 'sockfix[$pid]: ' prefix: $bad_prefix"
n=$(grep -c 'TCP_KEEPIDLE=21' "$log")
[ "$n" = 1 ] || fail "want exactly one log line with TCP_KEEPIDLE=21 for one connect, got $n: $(cat "$log")"
grep 'TCP_KEEPIDLE=21' "$log" | grep -q 'TCP_KEEPINTVL=15' || fail "connect log line lacks TCP_KEEPINTVL=15: $(cat "$log")"
grep 'TCP_KEEPIDLE=21' "$log" | grep -q 'TCP_KEEPCNT=9' || fail "connect log line lacks TCP_KEEPCNT=9: $(cat "$log")"
note "connect log: $(grep TCP_KEEPIDLE "$log")"

probe_lib SOCKFIX_LOG=stderr SOCKFIX_USER_TIMEOUT=30s -- tcp 127.0.0.1
ERR_OK=1 expect "SOCKFIX_LOG=stderr" connect=ok keepalive=1 user_timeout=30000
pid=$(field pid)
grep -q "^sockfix\[$pid\]: .*TCP_KEEPIDLE=15" "$CT_TMP/probe.err" || fail "SOCKFIX_LOG=stderr: no 'sockfix[$pid]: ... TCP_KEEPIDLE=15' line on stderr: $(cat "$CT_TMP/probe.err")"
grep -Eq "TCP_USER_TIMEOUT=(30000|30s)" "$CT_TMP/probe.err" || fail "SOCKFIX_LOG=stderr: the connect line lacks TCP_USER_TIMEOUT=30000: $(cat "$CT_TMP/probe.err")"
bad_prefix=$(grep -v "^sockfix\[$pid\]: " "$CT_TMP/probe.err")
[ -z "$bad_prefix" ] || fail "stderr lines without the 'sockfix[$pid]: ' prefix: $bad_prefix"

probe_lib SOCKFIX_LOG=off -- tcp 127.0.0.1
expect "SOCKFIX_LOG=off" connect=ok $DEFAULTS
exit 0
