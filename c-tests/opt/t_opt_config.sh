# Config file (SOCKFIX_CONFIG=path, KEY=VALUE lines, # comments): its values
# beat the built-in defaults, the environment beats it, values merge key by
# key; a missing file is silently ignored; a bad value in it keeps the default.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
need_lib

conf=$CT_TMP/conf
cat >"$conf" <<'CONF'
# sockfix test configuration

SOCKFIX_KEEPIDLE=40
   # an indented comment
SOCKFIX_KEEPCNT=4
SOCKFIX_USER_TIMEOUT=25s
CONF

probe_lib SOCKFIX_CONFIG="$conf" -- tcp 127.0.0.1
expect "config file" connect=ok errno_kept=1 keepalive=1 idle=40 intvl=15 cnt=4 user_timeout=25000

probe_lib SOCKFIX_CONFIG="$conf" SOCKFIX_KEEPIDLE=41 -- tcp 127.0.0.1
expect "env SOCKFIX_KEEPIDLE=41 over config 40, rest from config" connect=ok keepalive=1 idle=41 intvl=15 cnt=4 user_timeout=25000

probe_lib SOCKFIX_CONFIG="$conf" SOCKFIX_USER_TIMEOUT=off -- tcp 127.0.0.1
expect "env USER_TIMEOUT=off over config 25s" connect=ok idle=40 user_timeout=0

probe_lib SOCKFIX_CONFIG="$CT_TMP/does-not-exist" -- tcp 127.0.0.1
expect "missing config file" connect=ok $DEFAULTS

cat >"$CT_TMP/conf-off" <<'CONF'
SOCKFIX_KEEPALIVE=off
CONF
probe_lib SOCKFIX_CONFIG="$CT_TMP/conf-off" -- tcp 127.0.0.1
expect "config KEEPALIVE=off" connect=ok $UNTOUCHED
probe_lib SOCKFIX_CONFIG="$CT_TMP/conf-off" SOCKFIX_KEEPALIVE=on -- tcp 127.0.0.1
expect "config KEEPALIVE=off, env on" connect=ok $DEFAULTS

# A config file without a final newline still counts its last line.
printf 'SOCKFIX_KEEPIDLE=42' >"$CT_TMP/conf-nonl"
probe_lib SOCKFIX_CONFIG="$CT_TMP/conf-nonl" -- tcp 127.0.0.1
expect "config without trailing newline" connect=ok idle=42

# A bad value in the config: default kept, the line names key and value.
cat >"$CT_TMP/conf-bad" <<'CONF'
SOCKFIX_KEEPIDLE=banana
SOCKFIX_KEEPCNT=5
CONF
probe_lib SOCKFIX_CONFIG="$CT_TMP/conf-bad" SOCKFIX_LOG="$CT_TMP/log" -- tcp 127.0.0.1
ERR_OK=1 expect "bad value in config" connect=ok keepalive=1 idle=15 cnt=5
grep -E "$(log_re "$(field pid)")" "$CT_TMP/log" | grep SOCKFIX_KEEPIDLE | grep -q banana \
    || fail "bad config value: no 'sockfix[PID]:' log line naming SOCKFIX_KEEPIDLE and banana: $(cat "$CT_TMP/log" 2>/dev/null)"

# A config file only the library reads: a directory, or an unreadable path,
# is no config and no crash.
probe_lib SOCKFIX_CONFIG="$CT_TMP" -- tcp 127.0.0.1
expect "SOCKFIX_CONFIG is a directory" connect=ok $DEFAULTS
exit 0
