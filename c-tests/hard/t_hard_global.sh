# A global install, simulated: in a private mount and network namespace
# (unshare -mn: only a loopback of its own), a copy of /etc holding an
# ld.so.preload that names the library and a root-owned sockfix.conf with
# aggressive settings (keepalive after 1 s, user timeout, idle check) is
# bind-mounted over /etc. The real /etc is never written.
# The same battery runs before (plain /etc) and after the bind mount:
#   bash (subshells, pipes, traps, /dev/tcp), coreutils, python3 (sockets,
#   threads, a SIGWINCH storm, subprocess, urllib), curl (HTTP 200, 404,
#   connection refused), a setuid-root binary run by nobody (util-linux mount,
#   and a probe that fetches a page), and programs started with an empty
#   environment (env -i), all against a python3 http.server on the
#   namespace's loopback that itself runs under the library in the second
#   pass. Everything they print, on stdout and stderr, and their exit codes
#   must be identical, and every one of them must have had the library mapped
#   (checked through /proc/PID/maps) in the second pass only. The setuid
#   probe must see AT_SECURE, ignore the hostile environment and use the
#   root-owned config file.
source "$CT_ROOT/c-tests/common/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (mount namespace, setuid binary)"
need unshare
need setpriv
need curl
need ip
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || skip "python3 not installed"
id nobody >/dev/null 2>&1 || skip "no user nobody"
grp=$(id -gn nobody)
[ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings LD_PRELOAD
PROBE=$CT_BIN/hard_global_probe
[ -x "$PROBE" ] || fail "$PROBE not built"

real_before=$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)
# A world-traversable directory (CT_TMP is 0700): the library, the setuid
# probe, the web root and the attacker's files.
SD=$(mktemp -d /tmp/sfx-hard-global.XXXXXX) || fail "mktemp"
cleanup() { cleanup_pids; rm -rf "$SD"; }
trap cleanup EXIT
chmod 755 "$SD"
install -o root -g root -m 0755 "$CT_LIB" "$SD/libsockfix.so"
install -o root -g root -m 4755 "$PROBE" "$SD/probe-suid"
install -o root -g root -m 0755 "$PROBE" "$SD/probe-plain"
mkdir -m 755 "$SD/www"
echo "hello from the namespace" >"$SD/www/hello.txt"
chmod 644 "$SD/www/hello.txt"

cp -a /etc "$CT_TMP/etc" || fail "copy /etc"
echo "$SD/libsockfix.so" >"$CT_TMP/etc/ld.so.preload"
cat >"$CT_TMP/etc/sockfix.conf" <<'EOF'
# t_hard_global: aggressive settings for every process of the namespace
SOCKFIX_KEEPIDLE=1
SOCKFIX_KEEPINTVL=1
SOCKFIX_KEEPCNT=2
SOCKFIX_USER_TIMEOUT=auto
# (auto: 1 + 1 x 2 s, raised to its floor of 60 s)
SOCKFIX_IDLE_CHECK=1s
EOF
chown root:root "$CT_TMP/etc/ld.so.preload" "$CT_TMP/etc/sockfix.conf"
chmod 644 "$CT_TMP/etc/ld.so.preload" "$CT_TMP/etc/sockfix.conf"

cat >"$CT_TMP/inner.sh" <<'INNER'
set -u
T=$1 SD=$2 GRP=$3 PY=$4
PORT=8765
ip link set lo up || { echo "FAIL: lo up"; exit 1; }

run() { # LABEL CMD...: stdout, stderr and the exit code go to the transcript
    local label=$1 rc
    shift
    echo "== $label"
    "$@" 2>"$T/stderr.tmp"
    rc=$?
    echo "rc=$rc"
    if [ -s "$T/stderr.tmp" ]; then echo "stderr:"; cat "$T/stderr.tmp"; fi
}
check() { echo "! $1 $2"; } # facts checked apart, not compared
as_nobody() { setpriv --reuid=nobody --regid="$GRP" --clear-groups "$@"; }

cat >"$T/py_battery.py" <<PYEOF
import hashlib, os, signal, socket, subprocess, sys, threading, time, urllib.request
n = [0]
signal.signal(signal.SIGWINCH, lambda s, f: n.__setitem__(0, n[0] + 1))
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
def serve():
    c, _ = l.accept()
    time.sleep(0.3)
    c.sendall(bytes(range(256)) * 4000)
    c.close()
threading.Thread(target=serve).start()
stop = [False]
def storm():
    while not stop[0]:
        os.kill(os.getpid(), signal.SIGWINCH)
        time.sleep(0.005)
st = threading.Thread(target=storm)
st.start()
s = socket.create_connection(l.getsockname())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
stop[0] = True
st.join()
print("socket:", len(data), hashlib.sha256(data).hexdigest()[:16], "signals seen:", n[0] > 0)
print("subprocess:", subprocess.run(["/bin/echo", "child"], capture_output=True).stdout.decode().strip())
print("urllib:", urllib.request.urlopen("http://127.0.0.1:$PORT/hello.txt", timeout=10).read().decode().strip())
print("environ keys:", sorted(k for k in os.environ if k.startswith(("SOCKFIX", "LD_"))))
PYEOF

battery() {
    # bash
    run "bash: subshells, pipes, traps, functions" bash -c '
        x=$(echo sub); for i in 1 2 3; do echo "$i"; done | tac; (exit 3); echo "subshell rc=$?"; echo "$x"
        trap "echo trapped USR1" USR1; kill -USR1 $$
        f() { local y=$1; echo "f $y"; }; f arg; echo "${BASH_VERSINFO[0]}" >/dev/null; echo done'
    run "bash: /dev/tcp" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; printf 'GET /hello.txt HTTP/1.0\r\n\r\n' >&3; tail -n 1 <&3"
    check bash-mapped "$(bash -c 'grep -c /libsockfix.so /proc/$$/maps')"
    # coreutils
    run "coreutils" sh -c "
        seq 1 20000 | sort -rn | head -n 3; seq 1 20000 | sha256sum; printf 'b\na\nb\n' | sort | uniq -c
        echo hello | tr a-z A-Z; date -u -d @86400 +%F; id -u; wc -l </etc/hostname
        dd if=/dev/zero bs=1k count=64 2>/dev/null | md5sum; cp /etc/hostname $T/h && cmp /etc/hostname $T/h && echo cp ok
        rm -rf $T/d; mkdir -p $T/d && touch $T/d/f && ls $T/d; timeout 5 sleep 0.1; echo timeout rc=\$?
        basename /a/b/c; stat -c %F /dev/null; head -c 1000 /dev/urandom | wc -c; yes | head -n 1000 | uniq -c"
    check cat-mapped "$(cat /proc/self/maps | grep -c /libsockfix.so)"
    # python3
    run "python3: sockets, threads, signals, subprocess, urllib" "$PY" "$T/py_battery.py"
    check python-mapped "$("$PY" -c 'print(open("/proc/self/maps").read().count("/libsockfix.so"))')"
    # curl
    run "curl: 200" curl -sS "http://127.0.0.1:$PORT/hello.txt"
    run "curl: 404" curl -sS -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/missing"
    run "curl: refused" curl -s "http://127.0.0.1:1/"
    check curl-mapped "$(curl -s file:///proc/self/maps | grep -c /libsockfix.so)"
    # setuid root binaries run by nobody
    run "setuid mount, as nobody" as_nobody /usr/bin/mount -t proc
    run "setuid probe, as nobody, hostile environment" as_nobody env -i PATH=/usr/bin:/bin \
        SOCKFIX_KEEPIDLE=99 SOCKFIX_CONFIG="$SD/evil.conf" SOCKFIX_LOG="$SD/evil.log" KEEPIDLE=97 \
        "$SD/probe-suid" $PORT
    # empty environment
    run "env -i: env" env -i /usr/bin/env
    run "env -i: id" env -i /usr/bin/id -un
    run "env -i: sh" env -i /bin/sh -c 'echo "no env here"; exit 5'
    run "env -i: curl" env -i /usr/bin/curl -sS "http://127.0.0.1:$PORT/hello.txt"
    run "env -i: python3" env -i "$PY" -c 'import os, socket; print(sorted(os.environ), socket.gethostname() != "")'
    run "env -i: probe" env -i "$SD/probe-plain" $PORT
    check envi-mapped "$(env -i /bin/cat /proc/self/maps | grep -c /libsockfix.so)"
}

pass() { # NAME
    "$PY" -m http.server --bind 127.0.0.1 --directory "$SD/www" $PORT >"$T/server-$1.log" 2>&1 &
    local spid=$! i
    for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
    check server-mapped "$(grep -c /libsockfix.so /proc/$spid/maps)"
    battery
    kill $spid
    wait $spid 2>/dev/null
}

pass A >"$T/A.out" 2>&1
mount --bind "$T/etc" /etc || { echo "FAIL: bind mount"; exit 1; }
[ "$(cat /etc/ld.so.preload)" = "$SD/libsockfix.so" ] || { echo "FAIL: the namespace's /etc is not the copy"; exit 1; }
pass B >"$T/B.out" 2>&1
echo inner-done
INNER

echo 'SOCKFIX_KEEPIDLE=98' >"$SD/evil.conf"
chmod 644 "$SD/evil.conf"
start=$(date +%s)
res=$(timeout -k 5 150 unshare -m -n --propagation private bash "$CT_TMP/inner.sh" "$CT_TMP" "$SD" "$grp" "$PY" 2>&1)
rc=$?
[ "$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)" = "$real_before" ] || fail "the real /etc/ld.so.preload changed!"
[ $rc = 0 ] && [ "$(printf '%s\n' "$res" | tail -n 1)" = inner-done ] || { printf '%s\n' "$res"; fail "namespace script failed (exit $rc)"; }
note "both passes in $(( $(date +%s) - start )) s"

A=$CT_TMP/A.out B=$CT_TMP/B.out
if ! diff <(grep -v '^! ' "$A") <(grep -v '^! ' "$B") >"$CT_TMP/diff"; then
    echo "--- without the library (pass A):"; grep -v '^! ' "$A" | head -n 80
    echo "--- differences (< without, > with the global preload):"; cat "$CT_TMP/diff"
    fail "programs behave differently under the global preload"
fi
note "transcript, identical in both passes:"
grep -v '^! ' "$B" | sed 's/^/#   /'
grep -q '^rc=' "$B" || fail "empty transcript"
bad=0
for k in server-mapped bash-mapped cat-mapped python-mapped curl-mapped envi-mapped; do
    a=$(sed -n "s/^! $k //p" "$A") b=$(sed -n "s/^! $k //p" "$B")
    [ "$a" = 0 ] || { echo "FAIL: $k: the library is mapped before the bind mount ($a)"; bad=1; }
    [ "${b:-0}" -ge 1 ] 2>/dev/null || { echo "FAIL: $k: the library is not mapped under the global preload (${b:-nothing})"; bad=1; }
done
suid_a=$(grep -A3 '^== setuid probe' "$A" | grep '^! secure') suid_b=$(grep -A3 '^== setuid probe' "$B" | grep '^! secure')
case $suid_a in *secure=1*) ;; *) skip "the setuid bit is not honoured here (nosuid $SD?): $suid_a";; esac
opts_b=$(grep -A4 '^== setuid probe' "$B" | grep '^! opts')
note "setuid probe without: $suid_a; with: $suid_b; $opts_b"
case $suid_b in *secure=1*mapped=1*euid=0*) ;; *) echo "FAIL: setuid probe under the global preload: $suid_b (want secure=1 mapped=1 euid=0)"; bad=1;; esac
case $opts_b in *"keepalive=1 idle=1 intvl=1 cnt=2 user_timeout=60000"*) ;;
    *) echo "FAIL: setuid probe: want the root-owned config's settings (idle=1), not the environment's (99, 98, 97): $opts_b"; bad=1;; esac
[ -e "$SD/evil.log" ] && { echo "FAIL: a setuid program wrote the log file named by the environment"; bad=1; }
plain_b=$(grep -A3 '^== env -i: probe' "$B" | grep '^! opts')
case $plain_b in *"keepalive=1 idle=1 intvl=1 cnt=2 user_timeout=60000"*) ;;
    *) echo "FAIL: a program started with an empty environment did not get the config file's settings: $plain_b"; bad=1;; esac
[ $bad = 0 ] || { cat "$B"; fail "global install checks failed"; }
echo "ok: bash, coreutils, python3, curl, setuid and env -i programs unchanged under a global preload"
