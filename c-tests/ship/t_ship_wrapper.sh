# The sockfix command as a wrapper (the Rust command, $CT_SFX, from the
# build tree): every option sets its SOCKFIX_ variable, the library goes in
# front of LD_PRELOAD, the probe's connection gets what was asked, arguments,
# stdin and the exit status pass through, errors have their own statuses;
# every setting COMMAND would get (options, environment, config file) is
# judged before it runs, and a bad one stops it with a message that says it
# refuses and that nothing ran; `sockfix config` shows what the library's
# own parser makes of the environment, the config file and the options;
# `sockfix status` lists a process that has the library; --help, --version.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
need_lib
SFX=${CT_SFX:-$CT_ROOT/target/release/sockfix}
[ -x "$SFX" ] || fail "$SFX is not executable (cargo build --release builds it)"
export SOCKFIX_LIBRARY=$CT_LIB
export SOCKFIX_CONFIG=/dev/null

# run EXPECTED-STATUS ARGS...: OUT, ERR, RC of sockfix ARGS.
run() {
    local want=$1
    shift
    OUT=$("$SFX" "$@" 2>"$CT_TMP/err"); RC=$?
    ERR=$(cat "$CT_TMP/err")
    [ "$RC" = "$want" ] || fail "sockfix $*: exit $RC, want $want; stdout: $(head -c 300 <<<"$OUT"); stderr: $(head -c 300 <<<"$ERR")"
}
# envof VAR: VAR's value in OUT (the output of env).
envof() { printf '%s\n' "$OUT" | sed -n "s/^$1=//p" | head -n 1; }

# --- options -> variables
run 0 --keepalive 7,1,3 --user-timeout 5s --connect-timeout 2s --linger 0 --bind 127.0.0.1,127.0.0.2 \
    --ports 41000-41099 --dest '10.0.0.0/8:3306,:5432' --idle-check 40s --log stderr \
    --eintr-pass INT,TERM,HUP --programs mysql,mysqldump --skip-programs ssh --server --no-eintr \
    --config /dev/null --set eintr_pass=INT -- env
for kv in SOCKFIX_KEEPALIVE=on SOCKFIX_KEEPIDLE=7 SOCKFIX_KEEPINTVL=1 SOCKFIX_KEEPCNT=3 \
    SOCKFIX_USER_TIMEOUT=5s SOCKFIX_CONNECT_TIMEOUT=2s SOCKFIX_LINGER=0 SOCKFIX_BIND=127.0.0.1,127.0.0.2 \
    SOCKFIX_PORTS=41000-41099 SOCKFIX_DEST=10.0.0.0/8:3306,:5432 SOCKFIX_IDLE_CHECK=40s SOCKFIX_LOG=stderr \
    SOCKFIX_PROGRAMS=mysql,mysqldump SOCKFIX_SKIP_PROGRAMS=ssh SOCKFIX_SERVER=on SOCKFIX_EINTR=off \
    SOCKFIX_CONFIG=/dev/null SOCKFIX_EINTR_PASS=INT; do
    [ "$(envof "${kv%%=*}")" = "${kv#*=}" ] || fail "expected $kv in the command's environment, got '$(envof "${kv%%=*}")'"
done
note "ok: every option sets its variable"
run 0 --keepalive=30,,5 --log=off -- env
[ "$(envof SOCKFIX_KEEPIDLE)" = 30 ] && [ "$(envof SOCKFIX_KEEPCNT)" = 5 ] && [ -z "$(envof SOCKFIX_KEEPINTVL)" ] ||
    fail "--keepalive=30,,5: $(printf '%s\n' "$OUT" | grep KEEP)"
[ "$(envof SOCKFIX_LOG)" = off ] || fail "--log=off"
run 0 --keepalive off -- env
[ "$(envof SOCKFIX_KEEPALIVE)" = off ] && [ -z "$(envof SOCKFIX_KEEPIDLE)" ] || fail "--keepalive off"
[ -z "$(envof SOCKFIX_LIBRARY)" ] || fail "SOCKFIX_LIBRARY (sockfix's own) was passed to the command"

# --- LD_PRELOAD: the library first, the rest kept, no duplicate
libc=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' /proc/self/maps)
OUT=$(LD_PRELOAD="$libc" "$SFX" -- env) || fail "run with an LD_PRELOAD"
[ "$(envof LD_PRELOAD)" = "$CT_LIB:$libc" ] || fail "LD_PRELOAD=$(envof LD_PRELOAD), want $CT_LIB:$libc"
OUT=$(LD_PRELOAD="$libc $CT_LIB" "$SFX" -- env) || fail "run with the library already in LD_PRELOAD"
[ "$(envof LD_PRELOAD)" = "$CT_LIB:$libc" ] || fail "LD_PRELOAD=$(envof LD_PRELOAD): library twice?"
OUT=$("$SFX" -- cat /proc/self/maps) || fail "cat under the wrapper"
grep -q "$(basename "$CT_LIB")\$" <<<"$OUT" || fail "the library is not mapped in the command"
note "ok: LD_PRELOAD"

# --- the settings reach the connection (the probe reads its socket options)
OUT=$("$SFX" --keepalive 7,1,3 --user-timeout 5s -- "$PROBE" tcp 127.0.0.1 2>"$CT_TMP/probe.err"); RC=$?
expect "sockfix --keepalive 7,1,3 --user-timeout 5s" connect=ok keepalive=1 idle=7 intvl=1 cnt=3 user_timeout=5000
OUT=$("$SFX" -- "$PROBE" tcp 127.0.0.1 2>"$CT_TMP/probe.err"); RC=$?
expect "sockfix with no options: the defaults" connect=ok $DEFAULTS
OUT=$("$SFX" --keepalive off -- "$PROBE" tcp 127.0.0.1 2>"$CT_TMP/probe.err"); RC=$?
expect "sockfix --keepalive off" connect=ok keepalive=0
OUT=$(KEEPIDLE=8 "$SFX" -- "$PROBE" tcp 127.0.0.1 2>"$CT_TMP/probe.err"); RC=$?
expect "libkeepalive's KEEPIDLE through the wrapper" connect=ok keepalive=1 idle=8

# --- arguments, stdin, exit status
run 0 -- printf '[%s]' 'a b' '' '*' '-x' '--'
[ "$OUT" = '[a b][][*][-x][--]' ] || fail "arguments changed: $OUT"
OUT=$(printf 'line one\nline two\n' | "$SFX" -- cat) && [ "$OUT" = $'line one\nline two' ] || fail "stdin: $OUT"
run 42 -- sh -c 'exit 42'
run 0 -- true
run 1 -- false
run 143 -- sh -c 'kill -TERM $$'
run 3 --keepalive 7 sh -c 'exit 3'     # no "--": the first word that is not an option
# "--" lets a command be named like a subcommand; so does an option before
# it (a subcommand is only ever the first word).
mkdir -p "$CT_TMP/bin"
for c in config status preload systemd audit completions help; do
    printf '#!/bin/sh\necho "I am $0 $*"\n' >"$CT_TMP/bin/$c"; chmod +x "$CT_TMP/bin/$c"
    OUT=$(PATH="$CT_TMP/bin:$PATH" "$SFX" -- $c x) || fail "sockfix -- $c"
    [ "$OUT" = "I am $CT_TMP/bin/$c x" ] || fail "sockfix -- $c did not run the command: $OUT"
done
OUT=$(PATH="$CT_TMP/bin:$PATH" "$SFX" --keepalive 7 config x) || fail "sockfix --keepalive 7 config"
[ "$OUT" = "I am $CT_TMP/bin/config x" ] || fail "sockfix --keepalive 7 config did not run the command: $OUT"
note "ok: arguments, stdin, exit status"

# --- errors
run 127 -- no-such-command-sockfix
grep -q "no-such-command-sockfix: command not found" <<<"$ERR" || fail "no clear message for a missing command: $ERR"
run 127 -- /nonexistent/prog
grep -q "/nonexistent/prog: no such file" <<<"$ERR" || fail "no clear message for a missing file: $ERR"
run 126 -- /etc/passwd
grep -q "/etc/passwd: cannot run it" <<<"$ERR" || fail "no clear message for a file that cannot run: $ERR"
run 125 --bogus -- true
grep -q "unexpected argument '--bogus'" <<<"$ERR" || fail "unknown option message: $ERR"
run 125 --keepalive
grep -q "a value is required for '--keepalive" <<<"$ERR" || fail "missing value message: $ERR"
run 125 --keepalive 1,2,3,4 -- true
grep -q -- "--keepalive 1,2,3,4: expected IDLE,INTVL,CNT" <<<"$ERR" || fail "--keepalive 1,2,3,4 message: $ERR"
run 125 --set nonsense -- true
grep -q -- "--set nonsense: expected KEY=VALUE" <<<"$ERR" || fail "--set nonsense message: $ERR"
OUT=$(SOCKFIX_LIBRARY=/nonexistent/libsockfix.so "$SFX" -- true 2>&1); RC=$?
[ $RC = 125 ] && grep -q "no such file" <<<"$OUT" || fail "missing library: exit $RC: $OUT"
run 125 --library /nonexistent/x.so -- true
grep -q -- "--library /nonexistent/x.so: no such file" <<<"$ERR" || fail "--library message: $ERR"
run 2
grep -q "^Usage:" <<<"$ERR" || fail "no usage on stderr without arguments"
[ -z "$OUT" ] || fail "usage without arguments went to stdout"
note "ok: errors"

# --- settings are judged before COMMAND runs, wherever they come from
# refused WHAT ORIGIN-TEXT ARGS...: sockfix ARGS -- touch $CT_TMP/ran exits
# 125 without running it; stderr says WHAT (KEY=VALUE (ORIGIN): WHY), then
# that it refuses and nothing ran; never the library's "using ..." or "ignored".
refused() {
    local what=$1
    shift
    rm -f "$CT_TMP/ran"
    run 125 "$@" -- touch "$CT_TMP/ran"
    [ -e "$CT_TMP/ran" ] && fail "sockfix $*: the command ran despite $what"
    grep -qF "sockfix: $what" <<<"$ERR" || fail "sockfix $*: no line '$what': $ERR"
    tail -n 1 <<<"$ERR" | grep -Eqx "sockfix: refusing to run touch: the library would not use (this setting|these settings) as given; nothing was run" ||
        fail "sockfix $*: the last line does not refuse and say nothing ran: $ERR"
    grep -Eq "; using |; ignored|using the environment and defaults" <<<"$ERR" &&
        fail "sockfix $*: a message says what the library would do, but nothing ran: $ERR"
    return 0
}
duration="not a duration (a number with an optional unit ms, s, m or h)"
refused "SOCKFIX_KEEPIDLE=banana (command line): $duration" --keepalive banana,1,3
refused "SOCKFIX_KEEPCNT=0 (command line): out of range (1-127)" --set keepcnt=0
refused "SOCKFIX_FOO=1 (command line): unknown setting" --set FOO=1
refused "SOCKFIX_KEEPIDEL=5 (command line): unknown setting" --set keepidel=5
refused "SOCKFIX_CONFIG=/nonexistent/sockfix.conf (command line): cannot read the config file: No such file or directory" \
    --config /nonexistent/sockfix.conf
SOCKFIX_KEEPIDLE=banana refused "SOCKFIX_KEEPIDLE=banana (environment): $duration"
KEEPIDLE=banana refused "KEEPIDLE=banana (environment): $duration"
SOCKFIX_FOO=1 refused "SOCKFIX_FOO=1 (environment): unknown setting"
SOCKFIX_CONFIG=/nonexistent/sockfix.conf \
    refused "SOCKFIX_CONFIG=/nonexistent/sockfix.conf (environment): cannot read the config file: No such file or directory"
printf 'SOCKFIX_KEEPINTVL=2\nSOCKFIX_KEEPIDLE=banana\nnot a setting\n' >"$CT_TMP/bad.conf"
SOCKFIX_CONFIG=$CT_TMP/bad.conf refused "SOCKFIX_KEEPIDLE=banana (config file $CT_TMP/bad.conf): $duration"
grep -qF "sockfix: config file $CT_TMP/bad.conf, line 3: not KEY=VALUE: not a setting" <<<"$ERR" ||
    fail "a bad line of the config file is not named: $ERR"
[ "$(grep -c '^sockfix: ' <<<"$ERR")" = 3 ] || fail "want one line per problem and one refusal: $ERR"
refused "SOCKFIX_KEEPIDLE=banana (config file $CT_TMP/bad.conf): $duration" --config "$CT_TMP/bad.conf"
# An option replaces the environment's variable of the same name: only the
# option's value reaches COMMAND, only it is judged.
OUT=$(SOCKFIX_KEEPIDLE=banana "$SFX" --keepalive 7,1,3 -- env 2>&1) && [ "$(envof SOCKFIX_KEEPIDLE)" = 7 ] ||
    fail "an option did not replace the environment's bad value: $OUT"
# The default config file is not named: its absence is no problem.
run 0 --config /dev/null -- true
note "ok: bad settings from options, the environment and the config file refuse to run, saying so"

# --- help and version
run 0 --help
grep -q "^Usage: sockfix" <<<"$OUT" || fail "--help: $OUT"
for o in --keepalive --user-timeout --connect-timeout --linger --bind --ports --dest --idle-check --log \
    config status preload systemd; do
    grep -q -- "$o" <<<"$OUT" || fail "--help does not mention $o"
done
run 0 -h
run 0 --version
ver=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$CT_ROOT/Cargo.toml" | head -n 1)
[ "$OUT" = "sockfix $ver" ] || fail "--version says '$OUT', Cargo.toml says $ver"
cver=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$CT_ROOT/cmd/Cargo.toml" | head -n 1)
[ "$cver" = "$ver" ] || fail "cmd/Cargo.toml is at $cver, Cargo.toml at $ver"
run 0 -V
[ "$OUT" = "sockfix $ver" ] || fail "-V says '$OUT'"
if [ -f "$CT_ROOT/debian/changelog" ]; then
    dver=$(head -n 1 "$CT_ROOT/debian/changelog" | sed -n 's/^sockfix (\([^)]*\)).*/\1/p')
    [ "$dver" = "$ver" ] || fail "debian/changelog is at $dver, Cargo.toml at $ver"
fi
note "ok: --help, --version ($OUT)"
run 0 help
grep -q "^Usage: sockfix" <<<"$OUT" || fail "sockfix help: $OUT"
run 0 help config
grep -q "^Usage: sockfix config" <<<"$OUT" || fail "sockfix help config: $OUT"

# --- library lookup: the build tree beside the command, when nothing is installed
t=$(awk '$6 ~ /\/libc\.so\.6$/ { n = split($6, p, "/"); print p[n - 1]; exit }' /proc/self/maps)
if [ ! -e "/usr/lib/$t/libsockfix.so" ] && [ ! -e /usr/local/lib/libsockfix.so ]; then
    mkdir -p "$CT_TMP/tree/target/release"
    cp "$SFX" "$CT_TMP/tree/target/release/sockfix"
    cp "$CT_LIB" "$CT_TMP/tree/target/release/libsockfix.so"
    OUT=$(env -u SOCKFIX_LIBRARY "$CT_TMP/tree/target/release/sockfix" -- env) || fail "build-tree lookup"
    [ "$(envof LD_PRELOAD)" = "$CT_TMP/tree/target/release/libsockfix.so" ] ||
        fail "build-tree lookup found $(envof LD_PRELOAD)"
    note "ok: the library found in the build tree"
fi

# --- sockfix config: the library's own parser, in the command
run 0 config
grep -Eq '^SOCKFIX_KEEPIDLE=15s? +# default$' <<<"$OUT" || fail "config: no default KEEPIDLE line: $OUT"
grep -qx "# config file: /dev/null (from the environment, SOCKFIX_CONFIG)" <<<"$OUT" || fail "config: no config file line: $OUT"
run 0 config --keepalive 7,1,3 --config /dev/null
grep -Eq '^SOCKFIX_KEEPIDLE=7s? +# command line$' <<<"$OUT" || fail "config --keepalive 7,1,3: not labelled command line: $OUT"
grep -Eq '^SOCKFIX_KEEPALIVE=on +# command line$' <<<"$OUT" || fail "config --keepalive 7,1,3: KEEPALIVE: $OUT"
grep -q "environment" <<<"$(grep -v '^# config file' <<<"$OUT")" && fail "config: options labelled environment: $OUT"
OUT=$(SOCKFIX_KEEPIDLE=9 "$SFX" config --keepalive 7,1,3) || fail "config with an option over the environment"
grep -Eq '^SOCKFIX_KEEPIDLE=7s? +# command line$' <<<"$OUT" || fail "config: the option does not win over the environment: $OUT"
printf 'SOCKFIX_KEEPCNT=4\n' >"$CT_TMP/s.conf"
OUT=$(SOCKFIX_CONFIG="$CT_TMP/s.conf" KEEPINTVL=2 "$SFX" config) || fail "config with a file: exit $?"
grep -Eq "^SOCKFIX_KEEPCNT=4 +# $CT_TMP/s.conf\$" <<<"$OUT" || fail "config: KEEPCNT from the file not shown: $OUT"
grep -Eq '^SOCKFIX_KEEPINTVL=2s? +# environment as KEEPINTVL$' <<<"$OUT" || fail "config: libkeepalive's KEEPINTVL not shown: $OUT"
grep -qx "# config file: $CT_TMP/s.conf (from the environment, SOCKFIX_CONFIG)" <<<"$OUT" || fail "config: which file: $OUT"
OUT=$(SOCKFIX_KEEPIDLE=banana "$SFX" config 2>"$CT_TMP/err"); RC=$?
[ $RC = 1 ] || fail "config with a bad value: exit $RC, want 1"
grep -q "SOCKFIX_KEEPIDLE=banana (environment): not a duration" "$CT_TMP/err" || fail "config: no message for the bad value: $(cat "$CT_TMP/err")"
grep -Eq '^SOCKFIX_KEEPIDLE=15s +# SOCKFIX_KEEPIDLE=banana \(environment\) refused: not a duration .*; using 15s$' <<<"$OUT" ||
    fail "config: a refused value's line should say what is used instead and why: $OUT"
OUT=$("$SFX" config --set keepidle=banana 2>/dev/null); RC=$?
[ $RC = 1 ] || fail "config --set keepidle=banana: exit $RC, want 1"
grep -Eq '^SOCKFIX_KEEPIDLE=15s +# SOCKFIX_KEEPIDLE=banana \(command line\) refused: ' <<<"$OUT" ||
    fail "config: a refused option's line: $OUT"
OUT=$("$SFX" config --config /nonexistent/sockfix.conf 2>"$CT_TMP/err"); RC=$?
[ $RC = 1 ] || fail "config --config /nonexistent: exit $RC, want 1"
grep -qx "# config file: none (/nonexistent/sockfix.conf from the command line cannot be read)" <<<"$OUT" ||
    fail "config --config /nonexistent: $OUT"
grep -q "SOCKFIX_CONFIG=/nonexistent/sockfix.conf (command line): cannot read the config file" "$CT_TMP/err" ||
    fail "config --config /nonexistent: message: $(cat "$CT_TMP/err")"
run 2 config --bogus
run 2 config extra
run 2 config --set nonsense
run 0 config --help
grep -q -- "--keepalive" <<<"$OUT" || fail "config --help does not list the setting options: $OUT"
note "ok: sockfix config"

# --- sockfix status
"$SFX" --keepalive 9,2,4 -- sleep 10 & sp=$!
track $sp
for _ in $(seq 1 50); do grep -q sockfix "/proc/$sp/maps" 2>/dev/null && break; sleep 0.1; done
run 0 status
grep -Eq "^$sp +sleep +LD_PRELOAD .*SOCKFIX_KEEPIDLE=9" <<<"$OUT" || fail "status does not list the sleep ($sp): $OUT"
kill $sp; wait $sp 2>/dev/null
OUT=$("$SFX" status 2>&1)
grep -Eq "^$sp " <<<"$OUT" && fail "status lists a process that exited: $OUT"
# In a PID namespace of its own (its own /proc), nothing has the library:
# exit 1, and it says so.
if unshare -pf --mount-proc true 2>/dev/null; then
    OUT=$(unshare -pf --mount-proc "$SFX" status 2>&1); RC=$?
    [ $RC = 1 ] || fail "status with no process that has the library: exit $RC, want 1: $OUT"
    grep -Eqx "no (running process|process of yours) has libsockfix.so loaded.*" <<<"$OUT" || fail "status with none: $OUT"
    OUT=$(unshare -pf --mount-proc sh -c '"$1" --keepalive 5 -- sleep 10 & i=0
        while [ $i -lt 50 ] && ! grep -q libsockfix /proc/$!/maps 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
        "$1" status; echo "rc=$?"; kill $!' _ "$SFX" 2>&1)
    grep -Eq "^[0-9]+ +sleep +LD_PRELOAD +.*SOCKFIX_KEEPALIVE=on SOCKFIX_KEEPIDLE=5" <<<"$OUT" && grep -qx "rc=0" <<<"$OUT" ||
        fail "status in a PID namespace: $OUT"
fi
note "ok: sockfix status"

# COMMAND gets the signal mask and SIGPIPE disposition sockfix was started
# with, as from env(1): an ignored SIGPIPE stays ignored, a default one
# default, a blocked SIGUSR1 blocked.
OUT=$(trap '' PIPE; "$SFX" -- grep '^SigIgn:' /proc/self/status)
[ $(( 0x${OUT##*:[[:space:]]} & 0x1000 )) != 0 ] || fail "an ignored SIGPIPE was not passed on: $OUT"
OUT=$("$SFX" -- grep '^SigIgn:' /proc/self/status)
[ $(( 0x${OUT##*:[[:space:]]} & 0x1000 )) = 0 ] || fail "a default SIGPIPE became ignored: $OUT"
OUT=$(python3 -c 'import signal, subprocess, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
subprocess.run([sys.argv[1], "--", "grep", "^SigBlk:", "/proc/self/status"])' "$SFX")
[ $(( 0x${OUT##*:[[:space:]]} & 0x200 )) != 0 ] || fail "a blocked SIGUSR1 was not passed on: $OUT"
note "ok: the signal mask and SIGPIPE's disposition are COMMAND's, as given"
exit 0
