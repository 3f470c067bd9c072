# sockfix preload enable|disable|status: the global install, all of it in a
# private mount namespace where a copy of /etc is bind-mounted over /etc (and
# an empty directory over /var/lib, where an older sockfix wrote its state):
# the real /etc/ld.so.preload is never written, and is checked unchanged at
# the end, as are the host's /var/lib/sockfix and the saved copies beside
# its /etc/ld.so.preload. The library goes where the package
# puts it, /usr/lib/TRIPLET/, through an overlay on that directory (or, where
# overlayfs is missing, in a tmpfs on /usr/local/lib).
#   - a library that is not ELF, one that writes on the program's stdout
#     (c-tests/ship/ship_badlib.c), or one in a directory others may write, is
#     refused and the file is left as it was;
#   - enable writes atomically (a new inode; no temporary file left), keeps
#     the other entries and the file's owner and mode, uses the $LIB form,
#     and is idempotent; bash, python3 and coreutils then run normally with
#     the library mapped, and `sockfix status` lists them;
#   - disable restores the file byte for byte (or removes it when enable had
#     created it), and is idempotent; after an edit by hand it takes out
#     only the sockfix line.
#   - the state (the file before enable, what enable wrote) lives beside the
#     file, in the namespace's /etc: nothing is written to /var/lib/sockfix
#     (issue 10: a namespace trial left stale state in the host's);
#   - preload status says STALE STATE when the saved copy no longer matches
#     the file's sockfix entry (the entry taken out by hand, the file
#     removed), and disable clears it.
source "$CT_ROOT/c-tests/common/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (mount namespace)"
need unshare
need python3
[ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings LD_PRELOAD

SFX=${CT_SFX:-$CT_ROOT/target/release/sockfix}
[ -x "$SFX" ] || fail "the sockfix command is not built: $SFX"
real_before=$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)
# What the host has where sockfix keeps (or once kept) state: unchanged at
# the end.
host_state() { ls -la --time-style=+%s /var/lib/sockfix /etc/ld.so.preload.sockfix-* 2>&1 | sha256sum; }
host_state_before=$(host_state)
cp -a /etc "$CT_TMP/etc" || fail "copy /etc"
rm -f "$CT_TMP/etc/ld.so.preload" "$CT_TMP/etc/sockfix.conf" "$CT_TMP"/etc/ld.so.preload.sockfix-*
mkdir -p "$CT_TMP/varlib" "$CT_TMP/ov/upper" "$CT_TMP/ov/work" "$CT_TMP/usrlocallib"

cat >"$CT_TMP/inner.sh" <<'INNER'
set -u
T=$1 SFX=$2 LIB=$3 BADLIB=$4
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "# $*"; }
mount --bind "$T/etc" /etc || fail "bind /etc"
mount --bind "$T/varlib" /var/lib || fail "bind /var/lib"
libc=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' /proc/self/maps)
t=${libc%/libc.so.6}; t=${t##*/}
if mount -t overlay overlay -o "lowerdir=/usr/lib/$t,upperdir=$T/ov/upper,workdir=$T/ov/work" "/usr/lib/$t" 2>/dev/null; then
    dest=/usr/lib/$t
    want_entry='/usr/$LIB/libsockfix.so'
else
    mount -t tmpfs -o mode=0755 tmpfs /usr/local/lib || fail "tmpfs /usr/local/lib"
    dest=/usr/local/lib
    want_entry=/usr/local/lib/libsockfix.so
    note "no overlayfs: the library goes to /usr/local/lib (no \$LIB form tested)"
fi
install -o root -g root -m 0644 "$LIB" "$dest/libsockfix.so" || fail "install library"
printf 'this is not an ELF file\n' >"$dest/libsockfix-broken.so"
F=/etc/ld.so.preload
sfx() { env -u SOCKFIX_LIBRARY "$SFX" "$@"; }
# has_lib MAPS: a /proc/PID/maps text has the library.
has_lib() { grep -q '/libsockfix\.so$' <<<"$1"; }

# --- refusals: nothing written
out=$(sfx preload enable --library "$dest/libsockfix-broken.so" 2>&1) && fail "a non-ELF library was enabled: $out"
[ -e $F ] && fail "refused enable still wrote $F: $(cat $F)"
grep -q "refusing" <<<"$out" || fail "no clear refusal: $out"
note "non-ELF library refused: $out"
if [ -f "$BADLIB" ]; then
    install -m 0644 "$BADLIB" "$dest/libsockfix-stray.so"
    out=$(sfx preload enable --library "$dest/libsockfix-stray.so" 2>&1) && fail "a library that writes on stdout was enabled: $out"
    [ -e $F ] && fail "refused enable still wrote $F: $(cat $F)"
    note "library writing on stdout refused: $out"
fi
tmplib=$(mktemp -d /tmp/sfx-ship-unsafe.XXXXXX); chmod 0777 "$tmplib"
cp "$LIB" "$tmplib/libsockfix.so"
out=$(sfx preload enable --library "$tmplib/libsockfix.so" 2>&1) && fail "a library in a world-writable directory was enabled: $out"
rm -rf "$tmplib"
[ -e $F ] && fail "refused enable still wrote $F"
note "library in a world-writable directory refused: $out"
out=$(sfx preload status 2>&1); rc=$?
[ $rc = 1 ] || fail "status with no file: exit $rc (want 1): $out"

# --- case A: no file before
out=$(sfx preload enable --allow-missing-abi 2>&1) || fail "enable failed: $out"
note "enable: $out"
[ "$(cat $F)" = "$want_entry" ] || fail "$F holds '$(cat $F)', want '$want_entry'"
[ "$(stat -c '%u %g %a' $F)" = "0 0 644" ] || fail "new $F is $(stat -c '%u %g %a' $F), want root root 644"
ls -a /etc | grep -q 'sockfix\.' && fail "temporary file left in /etc: $(ls -a /etc | grep sockfix)"
# The state is beside the file (enable created it: a record of what it
# wrote, no saved copy), and nothing went to /var/lib.
cmp -s $F $F.sockfix-ours || fail "no record of what enable wrote beside $F: $(ls -la /etc | grep sockfix)"
[ -e $F.sockfix-orig ] && fail "a saved copy of a file that did not exist: $(od -c $F.sockfix-orig | head -n 3)"
[ -z "$(ls -A /var/lib)" ] || fail "enable wrote in /var/lib: $(ls -lAR /var/lib | head)"
cp -p $F "$T/A1"
out=$(sfx preload enable --allow-missing-abi 2>&1) || fail "second enable failed: $out"
grep -q "already enabled" <<<"$out" || fail "second enable did not say already enabled: $out"
cmp -s $F "$T/A1" || fail "second enable changed $F"
# Programs started now have it, through ld.so.preload alone.
m=$(env -i PATH=/usr/bin:/bin cat /proc/self/maps) || fail "cat failed under the global preload"
has_lib "$m" || fail "cat does not have the library mapped"
m=$(env -i PATH=/usr/bin:/bin bash -c 'cat /proc/$$/maps; exit 0') || fail "bash failed"
has_lib "$m" || fail "bash does not have the library mapped"
m=$(env -i PATH=/usr/bin:/bin python3 -c 'import sys; sys.stdout.write(open("/proc/self/maps").read())') || fail "python3 failed"
has_lib "$m" || fail "python3 does not have the library mapped"
env -i PATH=/usr/bin:/bin bash -c true || fail "bash -c true failed"
env -i PATH=/usr/bin:/bin python3 -c pass || fail "python3 -c pass failed"
err=$(env -i PATH=/usr/bin:/bin sh -c 'ls /etc >/dev/null && sort </etc/passwd | head -n 1 >/dev/null && date >/dev/null && id >/dev/null' 2>&1) ||
    fail "coreutils failed: $err"
[ -z "$err" ] || fail "coreutils printed on stderr: $err"
[ "$(env -i /bin/echo hello)" = hello ] || fail "echo's output changed"
env -i PATH=/usr/bin:/bin sh -c 'exit 7'; [ $? = 7 ] || fail "exit status not kept"
# sockfix status sees a global one.
env -i PATH=/usr/bin:/bin sleep 5 & sp=$!
sleep 0.3
out=$(sfx status 2>&1) || fail "status found nothing: $out"
kill $sp; wait $sp 2>/dev/null
grep -E "^$sp +sleep +global" <<<"$out" >/dev/null || fail "status does not list the sleep ($sp) as global: $out"
out=$(sfx preload status 2>&1); rc=$?
# 3: enabled, but another ABI on the host lacks its library.
[ $rc = 0 ] || [ $rc = 3 ] || fail "preload status: exit $rc with it enabled: $out"
grep -q '^enabled: ' <<<"$out" || fail "preload status does not say enabled: $out"
grep -qi 'stale' <<<"$out" && fail "preload status calls fresh state stale: $out"
note "preload status: $out"
out=$(sfx preload disable 2>&1) || fail "disable failed: $out"
note "disable: $out"
[ -e $F ] && fail "disable left $F, which enable had created: $(cat $F)"
m=$(env -i cat /proc/self/maps); has_lib "$m" && fail "still mapped after disable"
out=$(sfx preload disable 2>&1) || fail "second disable failed: $out"
grep -q "not enabled" <<<"$out" || fail "second disable did not say not enabled: $out"
[ -e $F ] && fail "second disable created $F"

# --- case B: a file with other entries, a comment, odd owner and mode, no
# newline at the end
printf '# kept by the admin\n%s' "$libc" >$F
chown root:adm $F; chmod 0640 $F
cp -p $F "$T/B0"
ino0=$(stat -c %i $F)
out=$(sfx preload enable --allow-missing-abi 2>&1) || fail "enable (case B) failed: $out"
[ "$(stat -c '%U %G %a' $F)" = "root adm 640" ] || fail "enable changed owner/mode: $(stat -c '%U %G %a' $F)"
[ "$(stat -c %i $F)" != "$ino0" ] || fail "enable wrote in place (same inode): not atomic"
cmp -s $F.sockfix-orig "$T/B0" || fail "the saved copy beside $F is not the file as it was"
[ "$(stat -c '%U %G %a' $F.sockfix-orig)" = "root adm 640" ] || fail "the saved copy's owner/mode: $(stat -c '%U %G %a' $F.sockfix-orig)"
printf '# kept by the admin\n%s\n%s\n' "$libc" "$want_entry" >"$T/B1"
cmp -s $F "$T/B1" || fail "enable (case B) wrote: $(od -c $F | head)"
m=$(env -i cat /proc/self/maps); has_lib "$m" || fail "case B: not mapped"
out=$(sfx preload enable --allow-missing-abi 2>&1) && cmp -s $F "$T/B1" || fail "second enable (case B) changed the file: $out"
out=$(sfx preload disable 2>&1) || fail "disable (case B) failed: $out"
cmp -s $F "$T/B0" || fail "disable did not restore the file byte for byte: $(od -c $F | head)"
[ "$(stat -c '%U %G %a' $F)" = "root adm 640" ] || fail "disable changed owner/mode: $(stat -c '%U %G %a' $F)"
ls -a /etc | grep -q 'sockfix\.' && fail "temporary file left in /etc"
ls /etc | grep -q 'ld\.so\.preload\.sockfix' && fail "disable left the state: $(ls /etc | grep sockfix)"

# --- case C: edited by hand while enabled: only the sockfix line goes
sfx preload enable --allow-missing-abi >/dev/null 2>&1 || fail "enable (case C) failed"
printf '%s\n' "$libc" >>$F
out=$(sfx preload status 2>&1)
grep -q 'changed after enable' <<<"$out" || fail "status after a hand edit does not say the file changed: $out"
grep -qi 'stale' <<<"$out" && fail "status after a hand edit that kept the entry calls the state stale: $out"
out=$(sfx preload disable 2>&1) || fail "disable (case C) failed: $out"
printf '# kept by the admin\n%s\n%s\n' "$libc" "$libc" >"$T/C1"
cmp -s $F "$T/C1" || fail "disable after a hand edit: $(od -c $F | head)"
note "disable after a hand edit: $out"
[ -z "$(ls -A /var/lib/sockfix 2>/dev/null | grep -v '^\.')" ] || fail "state left in /var/lib/sockfix: $(ls -A /var/lib/sockfix)"
ls /etc | grep -q 'ld\.so\.preload\.sockfix' && fail "disable (case C) left the state: $(ls /etc | grep sockfix)"

# --- case D: stale state. The entry taken out by hand: the saved copy no
# longer belongs to the file; status says so (and that it is disabled),
# enable starts afresh, disable clears it.
cp -p "$T/B0" $F
sfx preload enable --allow-missing-abi >/dev/null 2>&1 || fail "enable (case D) failed"
grep -v libsockfix "$T/B1" >$F
out=$(sfx preload status 2>&1); rc=$?
note "status, entry taken out by hand: $out"
[ $rc = 1 ] || fail "status with the entry taken out by hand: exit $rc (want 1): $out"
grep -q "^STALE STATE: .*$F.sockfix-orig" <<<"$out" || fail "status does not report the stale state: $out"
out=$(sfx preload disable 2>&1) || fail "disable with stale state failed: $out"
grep -q "not enabled" <<<"$out" || fail "disable with stale state: $out"
ls /etc | grep -q 'ld\.so\.preload\.sockfix' && fail "disable left stale state: $(ls /etc | grep sockfix)"
out=$(sfx preload status 2>&1)
grep -qi 'stale' <<<"$out" && fail "status still reports stale state after disable: $out"
# The file removed by hand while enabled (enable had created it).
rm -f $F
sfx preload enable --allow-missing-abi >/dev/null 2>&1 || fail "enable (case D, no file) failed"
rm -f $F
out=$(sfx preload status 2>&1); rc=$?
[ $rc = 1 ] || fail "status with the file removed by hand: exit $rc (want 1): $out"
grep -q '^STALE STATE: ' <<<"$out" || fail "status does not report the state of a removed file as stale: $out"
# A stale copy is never put back: enable saves the file as it is now, and
# disable restores that.
printf '%s\n' "$libc" >$F
cp -p $F "$T/D0"
sfx preload enable --allow-missing-abi >/dev/null 2>&1 || fail "enable over stale state failed"
out=$(sfx preload status 2>&1)
grep -qi 'stale' <<<"$out" && fail "enable did not replace the stale state: $out"
out=$(sfx preload disable 2>&1) || fail "disable (case D) failed: $out"
cmp -s $F "$T/D0" || fail "disable after stale state did not restore the file as it was before the last enable: $(od -c $F | head)"
rm -f $F
[ -z "$(ls -A /var/lib)" ] || fail "something was written in /var/lib: $(ls -lAR /var/lib | head)"
echo inner-ok
INNER

res=$(unshare -m --propagation private bash "$CT_TMP/inner.sh" "$CT_TMP" "$SFX" "$CT_LIB" "$CT_BIN/ship_badlib" 2>&1)
rc=$?
printf '%s\n' "$res"
[ "$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)" = "$real_before" ] || fail "the real /etc/ld.so.preload changed!"
[ "$(host_state)" = "$host_state_before" ] || fail "the host's /var/lib/sockfix or /etc/ld.so.preload.sockfix-* changed!"
[ $rc = 0 ] && [ "$(printf '%s\n' "$res" | tail -n 1)" = inner-ok ] || fail "namespace part failed (exit $rc)"
exit 0
