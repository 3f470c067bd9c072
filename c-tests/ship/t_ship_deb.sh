# The Debian packages, end to end (the slow test: a release build with LTO):
#   - dpkg-buildpackage -us -uc -b on a copy of the source tree builds
#     libsockfix and sockfix; lintian reports no error and no warning;
#   - they install (dpkg -i) without touching /etc/ld.so.preload; the
#     installed sockfix finds the installed library and its config file:
#     a probe's connection and a real mariadb client get the keepalive asked
#     for; the man pages are found and render without warnings;
#   - in a private mount namespace (a copy of /etc over /etc): the installed
#     `sockfix preload enable` writes /usr/$LIB/libsockfix.so and programs
#     run with it; the package's own prerm, run as dpkg would on removal,
#     takes the entry out again (byte for byte when nobody edited the file);
#   - dpkg --purge removes every file the packages installed, the conffile
#     /etc/sockfix.conf, /var/lib/sockfix, a drop-in `sockfix systemd`
#     wrote (in a private mount namespace over a tmpfs /etc/systemd/system:
#     the real one is never written), and the library's entry in /etc/ld.so.cache.
# Needs root, dpkg-dev, debhelper, lintian and cargo (Rust >= 1.79).
# SOCKFIX_TEST_NO_DEB=1 skips it.
source "$CT_ROOT/c-tests/common/lib.sh"
[ "${SOCKFIX_TEST_NO_DEB:-0}" = 1 ] && skip "SOCKFIX_TEST_NO_DEB=1"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (installs and purges the packages)"
need dpkg-buildpackage
need dh
need lintian
need unshare
command -v cargo >/dev/null || [ -x "$HOME/.cargo/bin/cargo" ] || skip "no cargo"
for p in libsockfix sockfix; do
    s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
    case $s in
        *" installed" | *config-files*) skip "$p is already on this machine ($s); not touching it";;
    esac
done
unset SOCKFIX_LIBRARY
UNIT=sockfix-ship-test
cleanup() {
    cleanup_pids
    if dpkg-query -W -f='${Status}' sockfix libsockfix 2>/dev/null | grep -q -E 'installed|config-files'; then
        dpkg --purge sockfix libsockfix >/dev/null 2>&1
    fi
}
trap cleanup EXIT
real_before=$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)

# --- build, from a copy of the tree (tracked and new files, not target/)
ver=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$CT_ROOT/Cargo.toml" | head -n 1)
B=$CT_TMP/build
SRC=$B/sockfix-$ver
mkdir -p "$SRC"
if git -C "$CT_ROOT" rev-parse >/dev/null 2>&1; then
    (cd "$CT_ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$SRC" -xf - ||
        fail "copying the source tree"
else
    tar -C "$CT_ROOT" --exclude=./target --exclude=./.git -cf - . | tar -C "$SRC" -xf - || fail "copying the source tree"
fi
start=$(date +%s)
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$CT_TMP/build.log" 2>&1 ||
    fail "dpkg-buildpackage failed: $(tail -n 30 "$CT_TMP/build.log")"
note "dpkg-buildpackage: $(( $(date +%s) - start )) s"
arch=$(dpkg --print-architecture)
LIBDEB=$B/libsockfix_${ver}_$arch.deb
CMDDEB=$B/sockfix_${ver}_$arch.deb
[ -f "$LIBDEB" ] && [ -f "$CMDDEB" ] || fail "no .debs: $(ls "$B")"
t=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
list=$(dpkg-deb -c "$LIBDEB") || fail "dpkg-deb -c $LIBDEB"
grep -q "\./usr/lib/$t/libsockfix\.so\$" <<<"$list" || fail "libsockfix has no /usr/lib/$t/libsockfix.so"
list=$(dpkg-deb -c "$CMDDEB") || fail "dpkg-deb -c $CMDDEB"
for f in ./usr/bin/sockfix ./etc/sockfix.conf \
    ./usr/share/bash-completion/completions/sockfix ./usr/share/zsh/vendor-completions/_sockfix \
    ./usr/share/man/man1/sockfix.1.gz ./usr/share/man/man5/sockfix.conf.5.gz ./usr/share/man/man7/libsockfix.7.gz \
    ./usr/share/doc/sockfix/copyright ./usr/share/doc/sockfix/examples/sockfix.conf; do
    grep -q " $f\$" <<<"$list" || fail "sockfix has no $f"
done
dpkg-deb -f "$CMDDEB" Depends | grep -q "libsockfix (= $ver)" || fail "sockfix does not depend on libsockfix (= $ver)"
dpkg-deb -f "$LIBDEB" Depends | grep -q "libc6" || fail "libsockfix does not depend on libc6"

# --- lintian: no error, no warning
# (Not with --show-overrides: lintian 2.116 then counts overridden tags.)
lint=$(cd "$B" && lintian --fail-on error,warning --display-info --tag-display-limit 0 ./*.changes 2>&1); lrc=$?
lint=$(grep -v 'running with root privileges' <<<"$lint")
note "lintian (errors, warnings, info): ${lint:-(nothing)}"
note "lintian overrides: $(cd "$SRC/debian" && grep -h -v '^#' ./*lintian-overrides 2>/dev/null | tr '\n' ' ')"
[ $lrc = 0 ] || fail "lintian failed (exit $lrc)"
grep -Eq '^[EW]: ' <<<"$lint" && fail "lintian reports errors or warnings"

# --- install
dpkg -i "$LIBDEB" "$CMDDEB" >"$CT_TMP/install.log" 2>&1 || fail "dpkg -i: $(cat "$CT_TMP/install.log")"
[ "$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)" = "$real_before" ] || fail "installing changed /etc/ld.so.preload"
files=$(dpkg -L libsockfix sockfix) || fail "dpkg -L"
[ "$(command -v sockfix)" = /usr/bin/sockfix ] || fail "sockfix is not /usr/bin/sockfix: $(command -v sockfix)"
out=$(cd / && /usr/bin/sockfix -- env) || fail "installed sockfix: exit $?"
[ "$(sed -n 's/^LD_PRELOAD=//p' <<<"$out")" = "/usr/lib/$t/libsockfix.so" ] ||
    fail "installed sockfix preloads $(sed -n 's/^LD_PRELOAD=//p' <<<"$out"), not the package's library"
OUT=$(SOCKFIX_CONFIG=/dev/null /usr/bin/sockfix --keepalive 7,1,3 -- "$PROBE" tcp 127.0.0.1 2>"$CT_TMP/probe.err"); RC=$?
expect "installed sockfix --keepalive 7,1,3" connect=ok keepalive=1 idle=7 intvl=1 cnt=3
out=$(SOCKFIX_CONFIG=/dev/null /usr/bin/sockfix config --keepalive 7,1,3) || fail "installed sockfix config: exit $?"
grep -Eq '^SOCKFIX_KEEPIDLE=7' <<<"$out" || fail "installed sockfix config: $out"
out=$(/usr/bin/sockfix config) || fail "installed sockfix config with the installed /etc/sockfix.conf: exit $?: $out"
if command -v mariadb >/dev/null; then
    # A MariaDB client connecting to a listener that accepts and hangs up:
    # the library's log shows the options its connection got.
    python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
s.settimeout(20)
try:
    c, _ = s.accept(); c.close()
except OSError:
    pass
' >"$CT_TMP/port" &
    track $!
    for _ in $(seq 1 50); do [ -s "$CT_TMP/port" ] && break; sleep 0.1; done
    port=$(head -n 1 "$CT_TMP/port")
    SOCKFIX_CONFIG=/dev/null timeout 20 /usr/bin/sockfix --keepalive 7,1,3 --log "$CT_TMP/sockfix.log" -- \
        mariadb --protocol=tcp -h 127.0.0.1 -P "$port" -u nobody -e 'select 1' >/dev/null 2>&1
    grep -q 'TCP_KEEPIDLE=7' "$CT_TMP/sockfix.log" 2>/dev/null ||
        fail "sockfix -- mariadb: no keepalive in the log: $(cat "$CT_TMP/sockfix.log" 2>/dev/null)"
    note "sockfix -- mariadb: $(grep -m 1 'TCP_KEEPIDLE=7' "$CT_TMP/sockfix.log")"
fi
note "ok: installed; sockfix runs programs with the installed library"

# --- man pages, installed
for p in "1 sockfix" "5 sockfix.conf" "7 libsockfix"; do
    set -- $p
    page=/usr/share/man/man$1/$2.$1.gz
    if [ -f "$page" ]; then
        man -w "$1" "$2" >/dev/null 2>&1 || fail "man -w $1 $2 finds nothing"
        err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -Tutf8 -Z "$1" "$2" 2>&1 >/dev/null)
        [ -z "$err" ] || fail "man $1 $2 warns: $err"
        MANWIDTH=80 man "$1" "$2" 2>/dev/null | grep -q '^NAME' || fail "man $1 $2 does not render"
    else
        grep -q "$page" <<<"$files" || fail "$page is not in the package"
        note "$page not installed (dpkg path-exclude?): not rendered"
    fi
done
note "ok: man pages"

# --- the global install with the package, in a private mount namespace
dpkg-deb -e "$LIBDEB" "$CT_TMP/libctl" || fail "dpkg-deb -e"
[ -x "$CT_TMP/libctl/prerm" ] || fail "libsockfix has no prerm"
cp -a /etc "$CT_TMP/etc" || fail "copy /etc"
rm -f "$CT_TMP/etc/ld.so.preload"
mkdir -p "$CT_TMP/varlib"
cat >"$CT_TMP/inner.sh" <<'INNER'
set -u
T=$1 ARCH=$2
fail() { echo "FAIL: $*"; exit 1; }
mount --bind "$T/etc" /etc || fail "bind /etc"
mount --bind "$T/varlib" /var/lib || fail "bind /var/lib"
F=/etc/ld.so.preload
prerm() { DPKG_MAINTSCRIPT_ARCH=$ARCH DPKG_MAINTSCRIPT_PACKAGE=libsockfix sh "$T/libctl/prerm" "$@"; }
# --allow-missing-abi: the package is built for this machine's ABI only; a
# 32-bit loader on the host (libc6-i386) has no library (t_ship_preload_abi).
out=$(sockfix preload enable --allow-missing-abi 2>&1) || fail "enable: $out"
[ "$(cat $F)" = '/usr/$LIB/libsockfix.so' ] || fail "$F: $(cat $F)"
m=$(env -i PATH=/usr/bin:/bin bash -c 'cat /proc/$$/maps') || fail "bash under the global install"
grep -q '/libsockfix\.so$' <<<"$m" || fail "bash does not have the library"
env -i PATH=/usr/bin:/bin python3 -c pass || fail "python3 -c pass"
prerm upgrade 2>/dev/null || fail "prerm upgrade failed"
[ -f $F ] || fail "prerm upgrade took the entry out"
prerm remove 2>/dev/null || fail "prerm remove failed"
[ -e $F ] && fail "prerm remove left $F: $(cat $F)"
printf '# admin\n' >$F; chmod 0640 $F; cp -p $F "$T/orig"
sockfix preload enable --allow-missing-abi >/dev/null 2>&1 || fail "enable (2)"
prerm remove 2>/dev/null || fail "prerm remove (2)"
cmp -s $F "$T/orig" || fail "prerm remove did not restore $F: $(cat $F)"
[ "$(stat -c %a $F)" = 640 ] || fail "prerm remove changed the mode"
sockfix preload enable --allow-missing-abi >/dev/null 2>&1 || fail "enable (3)"
# (A real library: ld.so takes only some '#' lines for comments.)
libc=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' /proc/self/maps)
echo "$libc" >>$F
prerm remove 2>/dev/null || fail "prerm remove (3)"
[ "$(cat $F)" = "# admin
$libc" ] || fail "prerm remove after an edit: $(cat $F)"
echo inner-ok
INNER
res=$(unshare -m --propagation private bash "$CT_TMP/inner.sh" "$CT_TMP" "$arch" 2>&1)
printf '%s\n' "$res" | sed 's/^/#   /'
[ "$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)" = "$real_before" ] || fail "the real /etc/ld.so.preload changed!"
[ "$(tail -n 1 <<<"$res")" = inner-ok ] || fail "namespace part failed"
note "ok: preload enable with the package, and its prerm"

# --- a drop-in, then purge: nothing left
# Any package's ldconfig trigger caches the library while it is installed.
ldconfig
ldconfig -p | grep -q '/libsockfix\.so$' || fail "the installed library is not in /etc/ld.so.cache"
# The drop-in and the purge run in a private mount namespace with a tmpfs
# over /etc/systemd/system: the real one is never written.
cat >"$CT_TMP/purge.sh" <<'PURGE'
set -u
UNIT=$1 T=$2 CG=${3:-}
fail() { echo "FAIL: $*"; exit 1; }
mount -t tmpfs -o mode=0755 tmpfs /etc/systemd/system || fail "tmpfs over /etc/systemd/system"
D=/etc/systemd/system/$UNIT.service.d
/usr/bin/sockfix systemd "$UNIT" --keepalive 7,1,3 >/dev/null 2>&1 || fail "sockfix systemd $UNIT"
[ -f "$D/sockfix.conf" ] || fail "no $D/sockfix.conf"
[ -f /var/lib/sockfix/systemd-dropins ] || fail "the drop-in was not recorded"
# The eBPF companion on a child cgroup of the test: removal detaches it.
if [ -n "$CG" ]; then
    /usr/bin/sockfix bpf enable --cgroup "$CG" >/dev/null 2>&1 || fail "installed sockfix bpf enable"
    PINS=/sys/fs/bpf/sockfix/cg$(stat -c %i "$CG")
    [ -d "$PINS" ] || fail "sockfix bpf enable pinned nothing"
fi
dpkg --purge sockfix libsockfix >"$T/purge.log" 2>&1 || fail "dpkg --purge: $(cat "$T/purge.log")"
[ -e "$D" ] && fail "purge left the drop-in $D"
if [ -n "$CG" ]; then
    [ -e "$PINS" ] && fail "removal left the companion pinned: $PINS"
    bpftool cgroup show "$CG" 2>/dev/null | grep -q sockfix && fail "removal left the companion attached"
fi
echo purge-ok
PURGE
mkdir -p /etc/systemd/system
real_units=$(ls -la /etc/systemd/system | sha256sum)
# A child cgroup for the companion, where the kernel has BPF and cgroup v2.
CG=
cg2=$(for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && echo "$d" && break; done)
if [ -n "$cg2" ] && [ -e /sys/kernel/btf/vmlinux ] && command -v bpftool >/dev/null && mkdir "$cg2/sockfix-test-deb-$$"; then
    CG=$cg2/sockfix-test-deb-$$
    trap 'rmdir "$CG" 2>/dev/null; cleanup' EXIT
else
    note "no cgroup v2, BPF or bpftool here: the companion's removal is not checked"
fi
res=$(unshare -m --propagation private bash "$CT_TMP/purge.sh" "$UNIT" "$CT_TMP" "$CG" 2>&1)
[ "$(tail -n 1 <<<"$res")" = purge-ok ] || fail "drop-in and purge: $res"
[ "$(ls -la /etc/systemd/system | sha256sum)" = "$real_units" ] || fail "the real /etc/systemd/system changed"
left=
while IFS= read -r f; do
    [ -d "$f" ] && continue             # shared directories (/usr/lib/...) stay
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <<<"$files"
for d in /usr/libexec/sockfix /usr/share/doc/sockfix /usr/share/doc/libsockfix /var/lib/sockfix; do
    [ -e "$d" ] && left="$left $d"
done
[ -e /etc/sockfix.conf ] && left="$left /etc/sockfix.conf"
[ -z "$left" ] || fail "left after purge:$left"
ldconfig -p | grep -q '/libsockfix\.so$' && fail "purge left the library in /etc/ld.so.cache: $(ldconfig -p | grep libsockfix)"
dpkg-query -W -f='${Status}' libsockfix 2>/dev/null | grep -q -E 'installed|config-files' && fail "libsockfix still known to dpkg"
note "ok: purge left nothing ($(wc -l <<<"$files") paths checked)"
exit 0
