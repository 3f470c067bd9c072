# sockfix audit: a server (with the library, SOCKFIX_SERVER off) and idle
# loopback clients with and without the library, statically linked, a
# (fake) Go binary, turning keepalive off or on themselves, left out by
# SOCKFIX_PROGRAMS, SOCKFIX_SKIP_PROGRAMS and SOCKFIX_DEST, over IPv6, and a
# connection in a private network namespace. The audit must give each the right verdict and reason,
# its keepalive column must agree with ss -tnoi, --json must parse, and the
# exit status must follow --dest. As another user it must say what it
# could not see.
source "$CT_ROOT/c-tests/common/lib.sh"
clear_stray_settings LD_PRELOAD
need ss
need python3
SFX=${CT_SFX:-$CT_ROOT/target/release/sockfix}
[ -x "$SFX" ] || fail "no sockfix command at $SFX"
[ "$(id -u)" = 0 ] || skip "needs root (every process, pidfd_getfd, a network namespace)"
PEER=$CT_BIN/audit_peer

# A statically linked client: glibc's libc.a is part of libc6-dev.
STATIC=$CT_TMP/audit_static
gcc -O1 -static -I "$CT_ROOT/c-tests/common" -o "$STATIC" "$CT_ROOT/c-tests/audit/audit_peer.c" 2>"$CT_TMP/static.err" ||
    skip "gcc -static cannot link here: $(tail -n 1 "$CT_TMP/static.err")"

# A program that looks like a Go binary to the audit (a .go.buildinfo
# section): its reason must be that, not the missing library. (It is C
# underneath: with the library loaded it would really be protected.)
GOFAKE=$CT_TMP/gofake
gcc -O1 -DAUDIT_FAKE_GO -I "$CT_ROOT/c-tests/common" -o "$GOFAKE" "$CT_ROOT/c-tests/audit/audit_peer.c" || fail "cannot build the fake Go client"

# wait_file FILE PATTERN: up to 5 s for PATTERN to appear in FILE.
wait_file() {
    local i
    for i in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "timed out waiting for '$2' in $1: $(cat "$1" 2>/dev/null)"
}

# start NAME CMD...: runs CMD in the background (output in $CT_TMP/NAME),
# records its pid in PID_NAME. CMD starts with env (which execs the program,
# keeping the pid), never with a shell function (a subshell's pid).
LIB=(env LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/dev/null)
NOLIB=(env -u LD_PRELOAD)
start() {
    local name=$1
    shift
    "$@" >"$CT_TMP/$name" 2>"$CT_TMP/$name.err" &
    track $!
    printf -v "PID_$name" %s $!
}

# Servers: one with the library and SOCKFIX_SERVER off (its accepted
# connections are left alone), one without it that only the protected
# client reaches (for an exit status 0 under --dest).
start srv "${LIB[@]}" "$PEER" server 127.0.0.1 "$CT_TMP/port1"
start srv2 "${NOLIB[@]}" "$PEER" server 127.0.0.1 "$CT_TMP/port2"
wait_file "$CT_TMP/port1" .
wait_file "$CT_TMP/port2" .
P1=$(cat "$CT_TMP/port1")
P2=$(cat "$CT_TMP/port2")

start nolib "${NOLIB[@]}" "$PEER" client 127.0.0.1 "$P1"
start lib "${LIB[@]}" SOCKFIX_USER_TIMEOUT=30s "$PEER" client 127.0.0.1 "$P1"
start lib2 "${LIB[@]}" "$PEER" client 127.0.0.1 "$P2"
start static "${LIB[@]}" "$STATIC" client 127.0.0.1 "$P1"
start kaoff "${LIB[@]}" "$PEER" client 127.0.0.1 "$P1" kaoff
start kaon "${NOLIB[@]}" "$PEER" client 127.0.0.1 "$P1" kaon
start programs "${LIB[@]}" SOCKFIX_PROGRAMS=some-other-program "$PEER" client 127.0.0.1 "$P1"
start skip "${LIB[@]}" SOCKFIX_SKIP_PROGRAMS=audit_peer "$PEER" client 127.0.0.1 "$P1"
start dest "${LIB[@]}" SOCKFIX_DEST=192.0.2.0/24 "$PEER" client 127.0.0.1 "$P1"
start go "${NOLIB[@]}" "$GOFAKE" client 127.0.0.1 "$P1"
CLIENTS="nolib lib lib2 static kaoff kaon programs skip dest go"
# IPv6, where ::1 works: a client with the library, to a server without.
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    start srv6 "${NOLIB[@]}" "$PEER" server ::1 "$CT_TMP/port6"
    wait_file "$CT_TMP/port6" .
    P6=$(cat "$CT_TMP/port6")
    start v6 "${LIB[@]}" "$PEER" client ::1 "$P6"
    CLIENTS="$CLIENTS v6"
else
    P6=0
    note "no ::1 here: IPv6 is not checked"
fi
# A connection inside a network namespace of its own (lo up, then the
# program replaces the shell: the pid stays unshare's).
NETNS=1
command -v unshare >/dev/null && command -v ip >/dev/null || NETNS=0
if [ $NETNS = 1 ]; then
    start ns unshare --net -- sh -c 'ip link set lo up && exec "$0" pair' "$PEER"
    CLIENTS="$CLIENTS ns"
fi
for c in $CLIENTS; do wait_file "$CT_TMP/$c" '^connected '; done

"$SFX" audit --json >"$CT_TMP/audit.json"
rc=$?
[ $rc = 1 ] || fail "audit --json: exit $rc, expected 1 (unprotected connections exist)"
python3 -m json.tool "$CT_TMP/audit.json" >/dev/null || fail "audit --json is not JSON: $(head -c 300 "$CT_TMP/audit.json")"
"$SFX" audit >"$CT_TMP/audit.txt"
ss -tnoi state established >"$CT_TMP/ss.txt" || fail "ss -tnoi failed"

# The expectations, per process: status, label, library mapped, keepalive.
pids=()
for c in $CLIENTS srv; do v=PID_$c; pids+=("$c=${!v}"); done
python3 - "$CT_TMP/audit.json" "$CT_TMP/audit.txt" "$CT_TMP/ss.txt" "$P1" "$P2" "$P6" "${pids[@]}" <<'EOF' || fail "the audit's verdicts (above)"
import json, re, sys
doc = json.load(open(sys.argv[1]))
table = open(sys.argv[2]).read().splitlines()
ss = open(sys.argv[3]).read()
p1, p2, p6 = sys.argv[4], sys.argv[5], sys.argv[6]
pid = dict(a.split("=") for a in sys.argv[7:])
rows = doc["connections"]
bad = []

def row_of(name, port=None):
    found = [r for r in rows if r["pid"] == int(pid[name]) and (port is None or r["peer"].endswith(":" + port))]
    if len(found) != 1:
        bad.append(f"{name} (pid {pid[name]}): {len(found)} rows, expected 1: {found}")
        return None
    return found[0]

# name: (peer port, status, label, library mapped, keepalive)
want = {
    "nolib": (p1, "unprotected", "no library", False, False),
    "lib": (p1, "protected", None, True, True),
    "lib2": (p2, "protected", None, True, True),
    "static": (p1, "unprotected", "static", False, False),
    "kaoff": (p1, "unprotected", "keepalive off by the program", True, False),
    "kaon": (p1, "weak", "no library", False, True),
    "programs": (p1, "unprotected", "SOCKFIX_PROGRAMS", True, False),
    "skip": (p1, "unprotected", "SOCKFIX_SKIP_PROGRAMS", True, False),
    "dest": (p1, "unprotected", "SOCKFIX_DEST", True, False),
    "go": (p1, "unprotected", "Go", False, False),
}
if "v6" in pid:
    want["v6"] = (p6, "protected", None, True, True)
checked = []
for name, (port, status, label, lib, ka) in want.items():
    r = row_of(name, port)
    if r is None:
        continue
    checked.append(r)
    got = (r["status"], r["label"], bool(r["library"]), r["keepalive"])
    if got != (status, label, lib, ka):
        bad.append(f"{name}: got {got}, expected {(status, label, lib, ka)}; reason: {r['reason']}")
    print(f"# {name:9} {r['status']:12} {r['reason'] or r['covered_by']}")

lib = row_of("lib", p1)
if lib and (lib["keepidle_s"], lib["keepintvl_s"], lib["keepcnt"], lib["user_timeout_ms"], lib["covered_by"]) != (15, 15, 9, 30000, "sockfix"):
    bad.append(f"lib: keepalive 15/15/9, UTO 30000 ms by sockfix expected: {lib}")
kaon = row_of("kaon", p1)
if kaon and kaon["keepidle_s"] != 7200:
    bad.append(f"kaon: the kernel's default idle (7200 s) expected: {kaon['keepidle_s']}")

# The server's accepted connections: left alone, SOCKFIX_SERVER off.
acc = [r for r in rows if r["pid"] == int(pid["srv"])]
if len(acc) != 9:
    bad.append(f"server: {len(acc)} accepted connections, expected 9")
for r in acc:
    if (r["accepted"], r["status"], r["label"], bool(r["library"])) != (True, "unprotected", "SOCKFIX_SERVER off", True):
        bad.append(f"server's accepted {r['local']} <- {r['peer']}: {r['status']} {r['label']} {r['reason']}")
checked += acc

# The connection in a private network namespace: seen, in another netns.
if "ns" in pid:
    ns = [r for r in rows if r["pid"] == int(pid["ns"])]
    own = [r["netns"] for r in rows if r["pid"] == int(pid["nolib"])]
    if len(ns) != 2 or not own or any(r["netns"] == own[0] for r in ns):
        bad.append(f"network namespace: {len(ns)} rows (expected 2, client and accepted, in another netns)")
    else:
        print(f"# ns        {ns[0]['status']:12} net:[{ns[0]['netns']}] {ns[0]['local']} -> {ns[0]['peer']}")

# ss -tnoi agrees: a keepalive timer exactly where the audit says keepalive
# is on, with the same time left (to a few seconds).
timers = {}
for line in ss.splitlines():
    f = line.split()
    if len(f) >= 4 and f[0].isdigit():
        norm = lambda a: re.sub(r"^\[::ffff:([0-9.]+)\]", r"\1", a)
        m = re.search(r"timer:\(keepalive,([0-9.]+)(ms|sec|min|h)", line)
        secs = None
        if m:
            secs = float(m.group(1)) * {"ms": 0.001, "sec": 1, "min": 60, "h": 3600}[m.group(2)]
        timers[(norm(f[2]), norm(f[3]))] = secs
for r in checked:
    key = (r["local"], r["peer"])
    if key not in timers:
        bad.append(f"ss does not list {key}")
        continue
    on_ss = timers[key] is not None
    if on_ss != (r["timer"] == "keepalive") or on_ss != bool(r["keepalive"]):
        bad.append(f"{key}: ss keepalive timer {timers[key]}, audit timer {r['timer']} keepalive {r['keepalive']}")
    elif on_ss and abs(timers[key] - r["timer_ms"] / 1000) > 5 + timers[key] * 0.02:
        bad.append(f"{key}: ss {timers[key]} s left, audit {r['timer_ms']} ms")

# The table: its KEEPALIVE column says the same; its lines fit 100 columns.
for r in checked:
    lines = [l for l in table if r["local"] in l and r["peer"] in l and l.split()[0] == str(r["pid"])]
    if len(lines) != 1:
        bad.append(f"table: {len(lines)} lines for {r['local']} -> {r['peer']}")
        continue
    col = "off" if not r["keepalive"] else "on "
    at = table[0].index("KEEPALIVE")
    if lines[0][at:at + 3] != col:
        bad.append(f"table: KEEPALIVE column of {r['local']}: {lines[0]!r}")
# (The summary is one line, whatever its length.)
wide = [l for l in table[:-1] if len(l) > 100]
if wide:
    bad.append(f"table: {len(wide)} lines wider than 100 columns: {wide[0]!r}")
if not re.match(r"\d+ of \d+ established connections would wait for the kernel's 2 h keepalive or forever: ", table[-1]):
    bad.append(f"summary line: {table[-1]!r}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
tail -n 1 "$CT_TMP/audit.txt" | sed 's/^/# /'

# Exit status follows --dest: the peers of port 2 are all protected.
"$SFX" audit --dest "127.0.0.1:$P2" >"$CT_TMP/d2.txt"
rc=$?
[ $rc = 0 ] || fail "audit --dest 127.0.0.1:$P2 (protected only): exit $rc, expected 0: $(tail -n 3 "$CT_TMP/d2.txt")"
grep -q "^none of 1 established connections" "$CT_TMP/d2.txt" || fail "--dest $P2 summary: $(tail -n 1 "$CT_TMP/d2.txt")"
"$SFX" audit --json --dest ":$P1" >"$CT_TMP/d1.json"
rc=$?
[ $rc = 1 ] || fail "audit --dest :$P1 (unprotected among them): exit $rc, expected 1"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); n=len(d["connections"]); f=d["summary"]["failing_dest"]; sys.exit(0 if (n, f) == (9, 8) else f"{n} rows, {f} failing")' \
    "$CT_TMP/d1.json" || fail "--dest :$P1 --json lists only those 9 connections, 8 failing"
"$SFX" audit --dest 192.0.2.0/24 >/dev/null
rc=$?
[ $rc = 0 ] || fail "audit --dest matching nothing: exit $rc, expected 0"
"$SFX" audit --dest banana >/dev/null 2>"$CT_TMP/usage.err"
rc=$?
[ $rc = 2 ] || fail "audit --dest banana: exit $rc, expected 2"
grep -q "banana" "$CT_TMP/usage.err" || fail "audit --dest banana says: $(cat "$CT_TMP/usage.err")"
"$SFX" audit --bogus >/dev/null 2>&1
rc=$?
[ $rc = 2 ] || fail "audit --bogus: exit $rc, expected 2"

# Not root: what it can see, and plainly what it could not.
if command -v setpriv >/dev/null; then
    setpriv --reuid=65534 --regid=65534 --clear-groups "$SFX" audit --dest ":$P1" >"$CT_TMP/nobody.txt" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "audit as nobody: exit $rc, expected 1: $(tail -n 3 "$CT_TMP/nobody.txt")"
    grep -q "^note: .*processes of other users .*could not be looked at.*run as root" "$CT_TMP/nobody.txt" ||
        fail "audit as nobody does not say what it could not see: $(cat "$CT_TMP/nobody.txt")"
    grep -q "its process is not visible" "$CT_TMP/nobody.txt" || fail "audit as nobody: rows of unseen owners: $(cat "$CT_TMP/nobody.txt")"
    note "as nobody: $(grep -c '^note:' "$CT_TMP/nobody.txt") notes; $(tail -n 1 "$CT_TMP/nobody.txt")"
else
    note "setpriv missing: the unprivileged audit is not checked"
fi
[ $NETNS = 1 ] || note "unshare or ip missing: the network namespace is not checked"
exit 0
