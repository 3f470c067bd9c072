# sockfix systemd UNIT: the drop-in, written under a temporary root
# (--root), never in the real /etc/systemd:
#   - the file, its place, its marker, and the systemctl lines printed;
#   - values with quotes, backslashes and % read back as systemd reads them
#     (a small reader of Environment= here, and systemd-analyze verify where
#     it is installed);
#   - idempotent rewrite, --print, --remove, a drop-in not written by
#     sockfix left alone, bad unit names and bad values refused;
#   - the shipped examples: the Celery drop-in and the failover story's
#     libkeepalive unit parse cleanly, and the latter's KEEPIDLE=7
#     KEEPINTVL=1 KEEPCNT=3 reach a connection unchanged;
#   - on the host (in a private mount namespace, over tmpfs): where systemd
#     does not run, or the unit does not exist, the drop-in is written and a
#     clear warning says why 'systemctl daemon-reload' cannot help; with the
#     unit installed and systemd running, no warning; --root and --print stay
#     quiet.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
need_lib
need python3
SFX=${CT_SFX:-$CT_ROOT/target/release/sockfix}
[ -x "$SFX" ] || fail "the sockfix command is not built: $SFX"
export SOCKFIX_LIBRARY=$CT_LIB
R=$CT_TMP/root
mkdir -p "$R"

# envlines FILE: the KEY=VALUE pairs of its Environment= lines, one a line,
# unquoted as systemd does (words in "..." or '...', C escapes, %% -> %).
envlines() {
    python3 - "$1" <<'PY'
import sys, shlex
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("Environment="):
        continue
    v = line[len("Environment="):]
    i, words = 0, []
    while i < len(v):
        c = v[i]
        if c.isspace():
            i += 1; continue
        w = ""
        if c in "\"'":
            q = c; i += 1
            while i < len(v) and v[i] != q:
                if v[i] == "\\" and q == '"':
                    i += 1
                    w += {"n": "\n", "t": "\t"}.get(v[i], v[i])
                else:
                    w += v[i]
                i += 1
            i += 1
        else:
            while i < len(v) and not v[i].isspace():
                w += v[i]; i += 1
        words.append(w.replace("%%", "%"))
    for w in words:
        print(w)
PY
}

out=$("$SFX" systemd --root "$R" mariadb --keepalive 7,1,3 --idle-check 40s \
    --set 'log=/var/log/s%fix "a\b".log' 2>&1) || fail "sockfix systemd: exit $?: $out"
F=$R/etc/systemd/system/mariadb.service.d/sockfix.conf
[ -f "$F" ] || fail "no drop-in at $F: $out"
note "wrote: $(cat "$F")"
head -n 1 "$F" | grep -q '^# Written by "sockfix systemd"' || fail "no marker line"
grep -qx '\[Service\]' "$F" || fail "no [Service] section"
[ "$(stat -c %a "$F")" = 644 ] || fail "drop-in mode $(stat -c %a "$F")"
grep -q 'systemctl daemon-reload' <<<"$out" && grep -q 'systemctl restart mariadb.service' <<<"$out" ||
    fail "the systemctl commands are not printed: $out"
got=$(envlines "$F")
want="LD_PRELOAD=$CT_LIB
SOCKFIX_KEEPALIVE=on
SOCKFIX_KEEPIDLE=7
SOCKFIX_KEEPINTVL=1
SOCKFIX_KEEPCNT=3
SOCKFIX_IDLE_CHECK=40s
SOCKFIX_LOG=/var/log/s%fix \"a\\b\".log"
[ "$got" = "$want" ] || fail "Environment= reads back as
$got
want
$want"
if command -v systemd-analyze >/dev/null; then
    printf '[Service]\nExecStart=/bin/true\n' >"$R/etc/systemd/system/mariadb.service"
    v=$(SYSTEMD_UNIT_PATH="$R/etc/systemd/system:" systemd-analyze verify mariadb.service 2>&1)
    grep -q 'sockfix.conf' <<<"$v" && fail "systemd-analyze verify complains about the drop-in: $v"
    note "systemd-analyze verify: no complaint about the drop-in"
fi
cp "$F" "$CT_TMP/first"
"$SFX" systemd --root "$R" mariadb.service --keepalive 7,1,3 --idle-check 40s \
    --set 'log=/var/log/s%fix "a\b".log' >/dev/null 2>&1 || fail "rewrite failed"
cmp -s "$F" "$CT_TMP/first" || fail "the same command wrote a different drop-in"
out=$("$SFX" systemd --root "$R" mariadb --print --user-timeout auto) || fail "--print failed"
grep -q 'SOCKFIX_USER_TIMEOUT=auto' <<<"$out" || fail "--print: $out"
cmp -s "$F" "$CT_TMP/first" || fail "--print changed the file"
note "ok: drop-in written, rewritten, printed"

# A drop-in sockfix did not write is left alone.
mkdir -p "$R/etc/systemd/system/other.service.d"
printf '[Service]\nEnvironment=FOO=1\n' >"$R/etc/systemd/system/other.service.d/sockfix.conf"
out=$("$SFX" systemd --root "$R" other --keepalive 5 2>&1) && fail "replaced a foreign drop-in: $out"
grep -q 'FOO=1' "$R/etc/systemd/system/other.service.d/sockfix.conf" || fail "foreign drop-in changed"
out=$("$SFX" systemd --root "$R" --remove other 2>&1) && fail "removed a foreign drop-in: $out"
[ -f "$R/etc/systemd/system/other.service.d/sockfix.conf" ] || fail "foreign drop-in removed"

# Refusals.
for u in foo/bar x.timer .hidden 'a b'; do
    out=$("$SFX" systemd --root "$R" "$u" 2>&1); rc=$?
    [ $rc = 2 ] || fail "unit name '$u': exit $rc, want 2: $out"
done
out=$("$SFX" systemd --root "$R" 2>&1); [ $? = 2 ] || fail "no unit: want exit 2: $out"
out=$("$SFX" systemd --root "$R" badvalue --keepalive banana 2>&1); rc=$?
[ $rc = 2 ] || fail "bad value: exit $rc, want 2: $out"
grep -q 'SOCKFIX_KEEPIDLE=banana (command line): not a duration' <<<"$out" && grep -q 'nothing was written' <<<"$out" ||
    fail "bad value: no clear refusal: $out"
[ -e "$R/etc/systemd/system/badvalue.service.d" ] && fail "a drop-in was written for a bad value"

# --remove.
out=$("$SFX" systemd --root "$R" --remove mariadb 2>&1) || fail "--remove: $out"
[ -e "$F" ] && fail "--remove left $F"
[ -e "${F%/*}" ] && fail "--remove left the empty ${F%/*}"
out=$("$SFX" systemd --root "$R" --remove mariadb 2>&1) || fail "second --remove: $out"
note "ok: refusals and --remove"

# --- the shipped examples
EX=$CT_ROOT/scripts/examples
for f in "$EX"/*.service.d-sockfix.conf; do
    [ -f "$f" ] || fail "no example drop-ins in $EX"
    if command -v systemd-analyze >/dev/null; then
        u=$(basename "$f" .service.d-sockfix.conf)
        mkdir -p "$R/ex/$u.service.d"
        printf '[Service]\nExecStart=/bin/true\n' >"$R/ex/$u.service"
        cp "$f" "$R/ex/$u.service.d/sockfix.conf"
        v=$(SYSTEMD_UNIT_PATH="$R/ex:" systemd-analyze verify "$u.service" 2>&1)
        grep -q 'sockfix.conf' <<<"$v" && fail "systemd-analyze verify complains about $f: $v"
    fi
    envlines "$f" | grep -q '^LD_PRELOAD=/usr/lib/.*/libsockfix.so$' || fail "$f: no LD_PRELOAD of the packaged library"
    # Its settings, as the library's parser reads them: no warning.
    mapfile -t kv < <(envlines "$f" | grep -v '^LD_PRELOAD=')
    err=$(env -i SOCKFIX_CONFIG=/dev/null "${kv[@]}" "$SFX" config 2>&1 >/dev/null) ||
        fail "$f: its settings do not parse cleanly: $err"
done
# The failover story's libkeepalive unit: libkeepalive's names, unchanged.
f=$EX/libkeepalive-unit.service.d-sockfix.conf
[ "$(envlines "$f" | grep -v '^LD_PRELOAD=')" = $'KEEPIDLE=7\nKEEPINTVL=1\nKEEPCNT=3' ] ||
    fail "$f does not carry KEEPIDLE=7 KEEPINTVL=1 KEEPCNT=3: $(envlines "$f")"
mapfile -t kv < <(envlines "$f" | grep -v '^LD_PRELOAD=')
probe_lib "${kv[@]}" -- tcp 127.0.0.1
expect "libkeepalive unit environment" connect=ok keepalive=1 idle=7 intvl=1 cnt=3
f=$EX/celery-worker.service.d-sockfix.conf
envlines "$f" | grep -q '^SOCKFIX_IDLE_CHECK=' || fail "$f: no idle check"
note "ok: examples"

# --- on the host: systemd not running, the unit missing (a private mount
# namespace, with tmpfs over /run/systemd, /etc/systemd/system and
# /var/lib: the real ones are never written).
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    cat >"$CT_TMP/host.sh" <<'HOST'
set -u
SFX=$1
fail() { echo "FAIL: $*"; exit 1; }
for d in /run/systemd /etc/systemd/system /var/lib; do
    mkdir -p "$d" && mount -t tmpfs -o mode=0755 tmpfs "$d" || fail "tmpfs over $d"
done
U=sockfix-nonesuch-$$
# 1. systemd not running (no /run/systemd/system).
out=$("$SFX" systemd "$U" --keepalive 7,1,3 2>"$T/err"); rc=$?
[ $rc = 0 ] || fail "not running: exit $rc: $out $(cat "$T/err")"
[ -f /etc/systemd/system/$U.service.d/sockfix.conf ] || fail "not running: no drop-in written"
grep -q 'warning: systemd is not running on this host' "$T/err" || fail "not running: no warning: $(cat "$T/err")"
grep -q 'now run:' <<<"$out" && fail "not running: still says to run systemctl: $out"
grep -qx "/etc/systemd/system/$U.service.d/sockfix.conf" /var/lib/sockfix/systemd-dropins || fail "the drop-in was not noted"
# 2. systemd running, but no such unit.
mkdir /run/systemd/system
out=$("$SFX" systemd "$U" --keepalive 7,1,3 2>"$T/err") || fail "no unit: exit $?"
grep -q "warning: no unit $U.service is installed on this host" "$T/err" || fail "no unit: no warning: $(cat "$T/err")"
grep -q 'now run:' <<<"$out" && fail "no unit: still says to run systemctl: $out"
# 2b. a masked unit (a link to /dev/null) says so.
ln -s /dev/null /etc/systemd/system/$U.service
"$SFX" systemd "$U" --keepalive 7,1,3 >/dev/null 2>"$T/err" || fail "masked: exit $?"
grep -q "warning: $U.service is masked on this host" "$T/err" || fail "masked: no warning: $(cat "$T/err")"
rm /etc/systemd/system/$U.service
# 3. the unit exists, systemd runs: no warning, the systemctl lines.
printf '[Service]\nExecStart=/bin/true\n' >/etc/systemd/system/$U.service
out=$("$SFX" systemd "$U" --keepalive 7,1,3 2>"$T/err") || fail "unit: exit $?"
[ -s "$T/err" ] && fail "unit present: stderr: $(cat "$T/err")"
grep -q "systemctl restart $U.service" <<<"$out" || fail "unit present: no systemctl lines: $out"
# 4. --print and --root stay quiet whatever the host.
rm -rf /run/systemd/system /etc/systemd/system/$U.service
"$SFX" systemd "$U" --print --keepalive 5 >/dev/null 2>"$T/err" || fail "--print: exit $?"
[ -s "$T/err" ] && fail "--print warned: $(cat "$T/err")"
mkdir -p "$T/r"
"$SFX" systemd --root "$T/r" "$U" --keepalive 5 >/dev/null 2>"$T/err" || fail "--root: exit $?"
[ -s "$T/err" ] && fail "--root warned: $(cat "$T/err")"
echo host-ok
HOST
    real_before=$(ls -la /etc/systemd/system 2>/dev/null | sha256sum)
    res=$(T=$CT_TMP unshare -m --propagation private bash "$CT_TMP/host.sh" "$SFX" 2>&1)
    [ "$(ls -la /etc/systemd/system 2>/dev/null | sha256sum)" = "$real_before" ] || fail "the real /etc/systemd/system changed!"
    [ "$(tail -n 1 <<<"$res")" = host-ok ] || fail "on the host: $res"
    note "ok: warnings where systemd does not run or the unit does not exist; --print and --root quiet"
else
    note "(host warnings not tested: needs root and unshare -m)"
fi
exit 0
