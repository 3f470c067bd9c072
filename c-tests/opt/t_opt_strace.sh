# strace of a real program (curl against a local python3 HTTP server): with
# the library, every TCP connection gets SO_KEEPALIVE, TCP_KEEPIDLE,
# TCP_KEEPINTVL, TCP_KEEPCNT (and TCP_USER_TIMEOUT when set) exactly once,
# all before connect(), nothing after it; options curl sets itself keep
# curl's values (the app wins, and is not overwritten or doubled); UNIX and
# other non-TCP sockets (curl's nscd lookup, socketpair, --unix-socket) get no
# setsockopt from the library. Each trace is compared with the same curl run
# without the library.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
need strace
need curl
PY=$(command -v /usr/bin/python3 || command -v python3) || skip "python3 not installed"

mkdir -p "$CT_TMP/www"
echo hello >"$CT_TMP/www/index.html"
# (Background jobs are plain commands, not shell functions, so that $! is
# the server's own PID and track can stop it.)
env -u LD_PRELOAD "$PY" -u -m http.server --bind 127.0.0.1 --directory "$CT_TMP/www" 0 >"$CT_TMP/http.log" 2>&1 &
track $!
port=
for i in $(seq 100); do
    port=$(sed -n 's/^Serving HTTP on .* port \([0-9]\+\).*/\1/p' "$CT_TMP/http.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || fail "python3 http.server did not start: $(cat "$CT_TMP/http.log")"
url=http://127.0.0.1:$port/

# A UNIX-socket HTTP server for curl --unix-socket.
usock=$CT_TMP/http.sock
env -u LD_PRELOAD "$PY" -u - "$usock" >"$CT_TMP/unix.log" 2>&1 <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8); s.settimeout(60)
print("ready", flush=True)
for _ in range(20):
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d:
                break
            data += d
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n")
    except OSError:
        pass
    c.close()
PYEOF
track $!
for i in $(seq 100); do grep -q ready "$CT_TMP/unix.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$CT_TMP/unix.log" || fail "unix HTTP server did not start: $(cat "$CT_TMP/unix.log")"

cat >"$CT_TMP/check.py" <<'PYEOF'
import json, re, sys

KEEP = ("SO_KEEPALIVE", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_USER_TIMEOUT")

def parse(path):
    """Sockets of one traced process (curl: one process, fds shared by threads)."""
    pending, socks, done = {}, {}, []
    def new(fd, fam, typ):
        if fd in socks:
            done.append(socks.pop(fd))
        socks[fd] = {"fd": fd, "fam": fam, "type": typ, "sets": [], "connects": 0}
    for raw in open(path):
        m = re.match(r"^(\d+)\s+(.*)$", raw.rstrip("\n"))
        if not m:
            continue
        pid, text = m.groups()
        if text.endswith("<unfinished ...>"):
            pending[pid] = text[: -len("<unfinished ...>")].rstrip()
            continue
        r = re.match(r"^<\.\.\. \w+ resumed>(.*)$", text)
        if r:
            text = pending.pop(pid, "") + r.group(1)
        c = re.match(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)", text)
        if not c:
            continue
        name, args, ret = c.groups()
        ret = int(ret) if ret != "?" else -1
        if name == "socket" and ret >= 0:
            a = [x.strip() for x in args.split(",")]
            new(ret, a[0], a[1])
        elif name == "socketpair" and ret == 0:
            fds = re.findall(r"\[(\d+), (\d+)\]", args)
            if fds:
                for fd in fds[0]:
                    new(int(fd), "AF_UNIX", "pair")
        elif name == "setsockopt":
            s = re.match(r"^(\d+), (\w+), (\w+), \[?(-?\d+)?", args)
            if s and int(s.group(1)) in socks:
                sk = socks[int(s.group(1))]
                val = int(s.group(4)) if s.group(4) is not None else None
                sk["sets"].append({"opt": s.group(3), "val": val, "after": sk["connects"] > 0, "ret": ret})
        elif name == "connect":
            fd = int(args.split(",")[0])
            if fd in socks:
                socks[fd]["connects"] += 1
        elif name == "close":
            fd = int(args.strip())
            if fd in socks:
                done.append(socks.pop(fd))
    return done + list(socks.values())

def is_tcp(s):
    return s["fam"] in ("AF_INET", "AF_INET6") and s["type"].startswith("SOCK_STREAM")

base_path, lib_path, want = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
base, lib = parse(base_path), parse(lib_path)
errors = []
btcp = [s for s in base if is_tcp(s) and s["connects"]]
ltcp = [s for s in lib if is_tcp(s) and s["connects"]]
if len(ltcp) != len(btcp):
    errors.append("%d TCP connections with the library, %d without" % (len(ltcp), len(btcp)))
app = {}
for s in btcp:
    for st in s["sets"]:
        if st["opt"] in KEEP and not st["after"]:
            app[st["opt"]] = st["val"]
for s in ltcp:
    for opt in KEEP:
        calls = [st for st in s["sets"] if st["opt"] == opt]
        if opt not in want and opt not in app:
            if calls:
                errors.append("fd %d: %s set although not configured: %s" % (s["fd"], opt, calls))
            continue
        exp = app.get(opt, want.get(opt))
        if len(calls) != 1:
            errors.append("fd %d: %s set %d times (want once): %s" % (s["fd"], opt, len(calls), calls))
            continue
        st = calls[0]
        if st["after"]:
            errors.append("fd %d: %s set after connect" % (s["fd"], opt))
        if st["val"] != exp:
            errors.append("fd %d: %s=%s, want %s (%s)" % (s["fd"], opt, st["val"], exp, "curl's own" if opt in app else "library's"))
        if st["ret"] != 0:
            errors.append("fd %d: setsockopt %s failed" % (s["fd"], opt))
    print("tcp fd=%d connects=%d sets=%s" % (s["fd"], s["connects"],
          " ".join("%s=%s%s" % (x["opt"], x["val"], "(after)" if x["after"] else "") for x in s["sets"])))
bother = sorted((st["opt"], st["val"]) for s in base if not is_tcp(s) for st in s["sets"])
lother = sorted((st["opt"], st["val"]) for s in lib if not is_tcp(s) for st in s["sets"])
if bother != lother:
    errors.append("setsockopt on non-TCP sockets differ: without %s, with %s" % (bother, lother))
for s in lib:
    if not is_tcp(s):
        print("non-tcp fd=%d %s %s connects=%d setsockopts=%d" % (s["fd"], s["fam"], s["type"], s["connects"], len(s["sets"])))
for e in errors:
    print("ERROR: " + e)
sys.exit(1 if errors else 0)
PYEOF

trace() { # trace NAME lib|nolib [VAR=VALUE...] -- CURL-ARGS...
    local name=$1 mode=$2 envs=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    [ "$mode" = lib ] && envs+=("LD_PRELOAD=$CT_LIB" "SOCKFIX_CONFIG=/nonexistent")
    strace -f -qq -o "$CT_TMP/$name.trace" -e trace=socket,socketpair,connect,setsockopt,close -e signal=none \
        env -u LD_PRELOAD "${envs[@]}" curl -s -S "$@" >"$CT_TMP/$name.body" 2>"$CT_TMP/$name.err"
    local rc=$?
    [ $rc = 0 ] || fail "$name: curl exit $rc: $(cat "$CT_TMP/$name.err")"
    [ -s "$CT_TMP/$name.body" ] || fail "$name: curl got no body"
}
check() { # check NAME WANT-JSON
    local out
    out=$("$PY" "$CT_TMP/check.py" "$CT_TMP/$1-nolib.trace" "$CT_TMP/$1-lib.trace" "$2") \
        || fail "$1: $out"$'\n'"--- trace with the library:"$'\n'"$(grep -v 'close(' "$CT_TMP/$1-lib.trace" | head -n 60)"
    note "ok: $1"
    printf '%s\n' "$out" | sed 's/^/#   /'
}

# Two URLs: the HTTP/1.0 server closes after each, so two connections.
trace noka-nolib nolib -- --no-keepalive "$url" "$url"
need_lib
trace noka-lib lib -- --no-keepalive "$url" "$url"
check noka '{"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 15, "TCP_KEEPINTVL": 15, "TCP_KEEPCNT": 9}'
[ "$(grep -c 'connect(' "$CT_TMP/noka-lib.trace")" -ge 2 ] || fail "noka: fewer than 2 connects traced"

trace ut-nolib nolib -- --no-keepalive "$url" "$url"
trace ut-lib lib SOCKFIX_USER_TIMEOUT=30s SOCKFIX_KEEPIDLE=20 -- --no-keepalive "$url" "$url"
check ut '{"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 20, "TCP_KEEPINTVL": 15, "TCP_KEEPCNT": 9, "TCP_USER_TIMEOUT": 30000}'

# curl's own keepalive (SO_KEEPALIVE=1, TCP_KEEPIDLE=60, TCP_KEEPINTVL=60):
# curl's values stay, each option still set exactly once.
trace ka-nolib nolib -- "$url" "$url"
trace ka-lib lib -- "$url" "$url"
check ka '{"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 15, "TCP_KEEPINTVL": 15, "TCP_KEEPCNT": 9}'

# curl over a UNIX socket: no setsockopt from the library at all.
trace unix-nolib nolib -- --unix-socket "$usock" http://localhost/
trace unix-lib lib SOCKFIX_USER_TIMEOUT=30s -- --unix-socket "$usock" http://localhost/
grep -q 'connect([0-9]*, {sa_family=AF_UNIX, sun_path="'"$usock"'"}.*= 0' "$CT_TMP/unix-lib.trace" \
    || fail "unix: curl's connect to $usock not in the trace: $(cat "$CT_TMP/unix-lib.trace" | head -40)"
check unix '{}'

# SOCKFIX_LOG=syslog: the connect line goes to /dev/log as a datagram
# (seen in the trace even where no syslog daemon listens), "sockfix[PID]: "
# after the syslog priority, nothing on stderr or stdout.
strace -f -qq -s 512 -o "$CT_TMP/syslog.trace" -e trace=sendto,sendmsg,connect -e signal=none \
    env -u LD_PRELOAD LD_PRELOAD="$CT_LIB" SOCKFIX_CONFIG=/nonexistent SOCKFIX_LOG=syslog SOCKFIX_KEEPIDLE=23 \
    "$PROBE" tcp 127.0.0.1 >"$CT_TMP/syslog.out" 2>"$CT_TMP/syslog.err" || fail "probe with SOCKFIX_LOG=syslog failed: $(cat "$CT_TMP/syslog.err")"
OUT=$(cat "$CT_TMP/syslog.out"); RC=0; cp "$CT_TMP/syslog.err" "$CT_TMP/probe.err"
expect "SOCKFIX_LOG=syslog" connect=ok keepalive=1 idle=23
pid=$(field pid)
grep '/dev/log' "$CT_TMP/syslog.trace" | grep -q "sockfix\[$pid\]: .*TCP_KEEPIDLE=23" \
    || fail "SOCKFIX_LOG=syslog: no datagram to /dev/log with 'sockfix[$pid]: ... TCP_KEEPIDLE=23': $(grep -v 'AF_INET' "$CT_TMP/syslog.trace" | head -20)"
note "ok: syslog: $(grep -o "sockfix\[$pid\]: [^\"]*TCP_KEEPIDLE=23[^\"]*" "$CT_TMP/syslog.trace" | head -n 1)"
exit 0
