# Secure execution (AT_SECURE): a setuid-root program run by an unprivileged
# user, with the library loaded the global way (/etc/ld.so.preload), ignores
# the environment (SOCKFIX_KEEPIDLE, SOCKFIX_CONFIG, SOCKFIX_LOG) and reads
# /etc/sockfix.conf only when it is root-owned and not writable by group or
# others. All of it in a private mount namespace, where a copy of /etc is
# bind-mounted over /etc: the real /etc is never written.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (setuid binary, mount namespace)"
need unshare
need setpriv
id nobody >/dev/null 2>&1 || skip "no user nobody"
grp=$(id -gn nobody)
need_lib

# A world-traversable directory (CT_TMP is 0700) for the setuid probe, the
# library copy and the attacker's files.
SD=$(mktemp -d /tmp/sfx-opt-suid.XXXXXX) || fail "mktemp"
cleanup() { cleanup_pids; rm -rf "$SD"; }
trap cleanup EXIT
chmod 755 "$SD"
install -o root -g root -m 4755 "$PROBE" "$SD/probe-suid"
install -o root -g root -m 0755 "$PROBE" "$SD/probe-plain"
install -o root -g root -m 0755 "$CT_LIB" "$SD/libsockfix.so"
echo SOCKFIX_KEEPIDLE=98 >"$SD/evil.conf"
chmod 644 "$SD/evil.conf"

# The /etc the namespace will see.
cp -a /etc "$CT_TMP/etc" || fail "copy /etc"
echo "$SD/libsockfix.so" >"$CT_TMP/etc/ld.so.preload"
echo SOCKFIX_KEEPIDLE=33 >"$CT_TMP/etc/sockfix.conf"
chown root:root "$CT_TMP/etc/ld.so.preload" "$CT_TMP/etc/sockfix.conf"
chmod 644 "$CT_TMP/etc/ld.so.preload" "$CT_TMP/etc/sockfix.conf"

cat >"$CT_TMP/inner.sh" <<'INNER'
set -u
etc=$1 sd=$2 grp=$3
mount --bind "$etc" /etc || { echo "mount-failed"; exit 1; }
# Only loopback; the probe makes its own listener.
as_nobody() { # as_nobody LABEL PROBE [ENV...]
    local label=$1 probe=$2
    shift 2
    local out
    out=$(setpriv --reuid=nobody --regid="$grp" --clear-groups \
        env -i PATH=/usr/bin:/bin "$@" "$probe" tcp 127.0.0.1 2>/dev/null)
    echo "$label $out"
}
hostile=(SOCKFIX_KEEPIDLE=99 SOCKFIX_CONFIG="$sd/evil.conf" SOCKFIX_LOG="$sd/evil.log" KEEPIDLE=97)
as_nobody plain-noenv "$sd/probe-plain"
as_nobody plain-env "$sd/probe-plain" "${hostile[@]}"
as_nobody suid-0644 "$sd/probe-suid" "${hostile[@]}"
chmod 0666 /etc/sockfix.conf
as_nobody suid-0666 "$sd/probe-suid" "${hostile[@]}"
chmod 0664 /etc/sockfix.conf
as_nobody suid-0664 "$sd/probe-suid" "${hostile[@]}"
chmod 0644 /etc/sockfix.conf
chown nobody /etc/sockfix.conf
as_nobody suid-nobody-owned "$sd/probe-suid" "${hostile[@]}"
chown root /etc/sockfix.conf
as_nobody suid-0644-again "$sd/probe-suid" "${hostile[@]}"
INNER

res=$(unshare -m --propagation private bash "$CT_TMP/inner.sh" "$CT_TMP/etc" "$SD" "$grp" 2>&1) \
    || fail "namespace script failed: $res"
note "namespace results:"
printf '%s\n' "$res" | sed 's/^/#   /'
[ -e /etc/ld.so.preload ] && grep -q "$SD" /etc/ld.so.preload && fail "the real /etc/ld.so.preload was written!"

get() { OUT=$(printf '%s\n' "$res" | sed -n "s/^$1 //p"); RC=0; : >"$CT_TMP/probe.err"; }

get plain-noenv
[ "$(field keepalive)" = 1 ] || fail "the library is not active through ld.so.preload in the namespace: $OUT"
expect "not setuid, no env: /etc/sockfix.conf read" connect=ok secure=0 keepalive=1 idle=33
get plain-env
expect "not setuid, env honoured (SOCKFIX_KEEPIDLE=99)" connect=ok secure=0 keepalive=1 idle=99
get suid-0644
[ "$(field secure)" = 1 ] || skip "setuid bit not honoured here (nosuid /tmp?): $OUT"
expect "setuid, root-owned 0644 config: env ignored, config read" connect=ok secure=1 keepalive=1 idle=33 intvl=15 cnt=9
get suid-0666
expect "setuid, world-writable config: ignored" connect=ok secure=1 keepalive=1 idle=15
get suid-0664
expect "setuid, group-writable config: ignored" connect=ok secure=1 keepalive=1 idle=15
get suid-nobody-owned
expect "setuid, config owned by nobody: ignored" connect=ok secure=1 keepalive=1 idle=15
get suid-0644-again
expect "setuid, root-owned 0644 config again" connect=ok secure=1 keepalive=1 idle=33
[ -e "$SD/evil.log" ] && fail "a setuid program wrote the log file named by the environment: $SD/evil.log"
exit 0
