# sockfix systemd UNIT: the drop-in, written under a temporary root
# (--root), never in the real /etc/systemd:
#   - the file, its place, its marker, and the systemctl lines printed;
#   - values with quotes, backslashes and % read back as systemd reads them
#     (a small reader of Environment= here, and systemd-analyze verify where
#     it is installed);
#   - idempotent rewrite, --print, --remove, a drop-in not written by
#     sockfix left alone, bad unit names and bad values refused;
#   - the shipped examples: the Celery drop-in and seed 004's libkeepalive
#     unit parse cleanly, and the latter's KEEPIDLE=7 KEEPINTVL=1 KEEPCNT=3
#     reach a connection unchanged.
source "$CT_ROOT/c-tests/lib.sh"
source "$CT_ROOT/c-tests/opt_lib.sh"
need_lib
need python3
SFX=$CT_ROOT/scripts/sockfix
export SOCKFIX_LIBRARY=$CT_LIB
SETTINGS_BIN=$(dirname "$CT_LIB")/sockfix-settings
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
if [ -x "$SETTINGS_BIN" ]; then
    out=$("$SFX" systemd --root "$R" badvalue --keepalive banana 2>&1); rc=$?
    [ $rc = 2 ] || fail "bad value: exit $rc, want 2: $out"
    [ -e "$R/etc/systemd/system/badvalue.service.d" ] && fail "a drop-in was written for a bad value"
fi

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
    if [ -x "$SETTINGS_BIN" ]; then
        # Its settings, as the library's parser reads them: no warning.
        mapfile -t kv < <(envlines "$f" | grep -v '^LD_PRELOAD=')
        err=$(env -i SOCKFIX_CONFIG=/dev/null "${kv[@]}" "$SETTINGS_BIN" 2>&1 >/dev/null) ||
            fail "$f: its settings do not parse cleanly: $err"
    fi
done
# Seed 004's unit: libkeepalive's names, unchanged.
f=$EX/libkeepalive-unit.service.d-sockfix.conf
[ "$(envlines "$f" | grep -v '^LD_PRELOAD=')" = $'KEEPIDLE=7\nKEEPINTVL=1\nKEEPCNT=3' ] ||
    fail "$f does not carry seed 004's KEEPIDLE=7 KEEPINTVL=1 KEEPCNT=3: $(envlines "$f")"
mapfile -t kv < <(envlines "$f" | grep -v '^LD_PRELOAD=')
probe_lib "${kv[@]}" -- tcp 127.0.0.1
expect "seed 004's unit environment" connect=ok keepalive=1 idle=7 intvl=1 cnt=3
f=$EX/celery-worker.service.d-sockfix.conf
envlines "$f" | grep -q '^SOCKFIX_IDLE_CHECK=' || fail "$f: no idle check"
note "ok: examples"
exit 0
