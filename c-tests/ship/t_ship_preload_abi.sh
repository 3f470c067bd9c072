# The global install on a host with 32-bit programs (libc6-i386 on x86_64):
# /etc/ld.so.preload is read by their loader too, and one that finds no
# library of its own ABI prints "ERROR: ld.so: object ... cannot be
# preloaded" on each such program's stderr. All of it in a private mount
# namespace (a copy of /etc bind-mounted over /etc, an empty /var/lib, and
# overlays on the two library directories): the real /etc/ld.so.preload is
# never written, and is checked unchanged at the end.
#   (a) no 32-bit library where the i386 loader looks: enable refuses, exit
#       non-zero, names the i386 ABI, where its library goes and the way out
#       (the Rust target, --allow-missing-abi); the file is not written;
#   (b) enable --allow-missing-abi: enabled; a 32-bit program (gcc -m32)
#       prints the loader's line on stderr and gets no keepalive (the trade
#       the option accepts); preload status says the ABI is missing, exit 3;
#   (c) the 32-bit library installed where the i386 loader looks (asked of
#       the loader itself, here through LD_DEBUG: the other of the two ways
#       sockfix uses): enable succeeds without the option; the 32-bit program
#       has nothing on stderr, the i386 library mapped and keepalive on its
#       connection; a 64-bit program likewise with its own; status says both
#       ABIs are covered, exit 0; disable removes the file. A 32-bit
#       library others may write is refused, even with --allow-missing-abi.
# Skips only without gcc -m32 (gcc-multilib) or a 32-bit library
# (CT_LIB32; cases (a) and (b) run before that skip).
source "$CT_ROOT/c-tests/common/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (mount namespace)"
need unshare
[ -r "$CT_LIB" ] || fail "library not built: $CT_LIB"
[ -x "$CT_BIN/ship_abi_client" ] || fail "not built: $CT_BIN/ship_abi_client"
clear_stray_settings LD_PRELOAD
gcc -m32 -O2 -Wall -Wextra -o "$CT_TMP/client32" "$CT_ROOT/c-tests/ship/ship_abi_client.c" 2>"$CT_TMP/gcc.err" ||
    skip "gcc -m32 cannot build a 32-bit program (install gcc-multilib): $(tail -n 1 "$CT_TMP/gcc.err")"
LOADER32=/lib/ld-linux.so.2
[ -x "$LOADER32" ] || fail "gcc -m32 works but there is no $LOADER32"
out=$(env -i "$CT_TMP/client32" 2>&1) || fail "the 32-bit program fails without the library: $out"
grep -q '^bits=32 keepalive=0 ' <<<"$out" || fail "32-bit program, no library: $out"

# Where the i386 loader looks for /usr/$LIB/...: what it expands $LIB to, as
# the search path it prints for an LD_LIBRARY_PATH containing $LIB shows.
dst=$(env -i LD_LIBRARY_PATH='/sfx-probe/$LIB/sfx-probe' LD_PRELOAD=sfx-probe-absent.so LD_DEBUG=libs \
    "$LOADER32" --list "$LOADER32" 2>&1 | sed -n 's|.*search path=/sfx-probe/\([^:]*\)/sfx-probe[/:[:space:]].*|\1|p' | head -n 1)
[ -n "$dst" ] || fail "cannot tell what $LOADER32 expands \$LIB to"
[ -d "/usr/$dst" ] || fail "$LOADER32 looks in /usr/$dst, which does not exist"
note "$LOADER32 expands \$LIB to $dst: the 32-bit library goes to /usr/$dst/libsockfix.so"
[ -e "/usr/$dst/libsockfix.so" ] && skip "/usr/$dst/libsockfix.so is already on this machine; the refusal cannot be shown"

SFX=${CT_SFX:-$CT_ROOT/target/release/sockfix}
[ -x "$SFX" ] || fail "the sockfix command is not built: $SFX"
real_before=$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)
cp -a /etc "$CT_TMP/etc" || fail "copy /etc"
rm -f "$CT_TMP/etc/ld.so.preload" "$CT_TMP/etc/sockfix.conf" "$CT_TMP"/etc/ld.so.preload.sockfix-*
mkdir -p "$CT_TMP/varlib" "$CT_TMP/ov64/upper" "$CT_TMP/ov64/work" "$CT_TMP/ov32/upper" "$CT_TMP/ov32/work"

cat >"$CT_TMP/inner.sh" <<'INNER'
set -u
T=$1 SFX=$2 LIB=$3 LIB32=$4 LIB32_WHY=$5 DST32=$6 CLIENT64=$7
CLIENT32=$T/client32
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "# $*"; }
mount --bind "$T/etc" /etc || fail "bind /etc"
mount --bind "$T/varlib" /var/lib || fail "bind /var/lib"
libc=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' /proc/self/maps)
t=${libc%/libc.so.6}; t=${t##*/}
DIR64=/usr/lib/$t DIR32=/usr/$DST32
mount -t overlay overlay -o "lowerdir=$DIR64,upperdir=$T/ov64/upper,workdir=$T/ov64/work" "$DIR64" 2>/dev/null ||
    { echo "skip: no overlayfs: the library cannot be put in $DIR64 without touching the host"; exit 77; }
mount -t overlay overlay -o "lowerdir=$DIR32,upperdir=$T/ov32/upper,workdir=$T/ov32/work" "$DIR32" ||
    fail "overlay on $DIR32"
install -o root -g root -m 0644 "$LIB" "$DIR64/libsockfix.so" || fail "install the library"
F=/etc/ld.so.preload
sfx() { env -u SOCKFIX_LIBRARY "$SFX" "$@"; }
# run PROGRAM: its stdout in $OUT, its stderr in $ERR, as a fresh process
# with nothing in its environment (the global install alone).
run() { OUT=$(env -i "$1" 2>"$T/err"); local rc=$?; ERR=$(cat "$T/err"); return $rc; }

# --- (a) no 32-bit library: refused, nothing written
out=$(sfx preload enable 2>&1) && fail "enable succeeded with no library for i386: $out"
note "refusal: $out"
[ -e $F ] && fail "the refused enable wrote $F: $(cat $F)"
grep -q 'refusing' <<<"$out" || fail "no clear refusal: $out"
grep -q 'i386' <<<"$out" || fail "the refusal does not name the i386 ABI: $out"
grep -qF "$DIR32/libsockfix.so" <<<"$out" || fail "the refusal does not say where the i386 loader looks ($DIR32): $out"
grep -q 'i686-unknown-linux-gnu' <<<"$out" || fail "the refusal does not say how to build it: $out"
grep -q -- '--allow-missing-abi' <<<"$out" || fail "the refusal does not name --allow-missing-abi: $out"
out=$(sfx preload status 2>&1); rc=$?
[ $rc = 1 ] || fail "status after a refusal: exit $rc (want 1, disabled): $out"

# --- (b) accepted: the 32-bit program gets the loader's line, and no sockfix
out=$(sfx preload enable --allow-missing-abi 2>&1) || fail "enable --allow-missing-abi failed: $out"
note "enable --allow-missing-abi: $out"
[ "$(cat $F)" = '/usr/$LIB/libsockfix.so' ] || fail "$F holds '$(cat $F)'"
grep -q 'i386' <<<"$out" || fail "enable --allow-missing-abi does not warn about i386: $out"
run "$CLIENT32" || fail "the 32-bit program failed under the global install: $OUT $ERR"
grep -qF "ERROR: ld.so: object '/usr/\$LIB/libsockfix.so' from /etc/ld.so.preload cannot be preloaded" <<<"$ERR" ||
    fail "the 32-bit program did not print the loader's line (the documented trade): stderr '$ERR'"
grep -q '^bits=32 keepalive=0 .* lib=-$' <<<"$OUT" || fail "32-bit program, missing library: $OUT"
note "32-bit program, library missing: stderr '$ERR'"
run "$CLIENT64" || fail "the 64-bit program failed: $OUT $ERR"
[ -z "$ERR" ] || fail "the 64-bit program printed on stderr: $ERR"
grep -q "^bits=64 keepalive=1 idle=15 intvl=15 cnt=9 lib=$DIR64/libsockfix.so$" <<<"$OUT" || fail "64-bit program: $OUT"
out=$(sfx preload status 2>&1); rc=$?
note "status: $out"
[ $rc = 3 ] || fail "status with i386 missing: exit $rc (want 3): $out"
grep -q '^abi i386 .*library missing' <<<"$out" || fail "status does not report i386 missing: $out"
grep -q "^abi x86_64 .*library present: $DIR64/libsockfix.so" <<<"$out" || fail "status does not report x86_64 present: $out"
out=$(sfx preload disable 2>&1) || fail "disable failed: $out"
[ -e $F ] && fail "disable left $F"

# --- (c) the 32-bit library where the i386 loader looks
if [ -z "$LIB32" ]; then
    echo "skip: cases (a) and (b) passed; no 32-bit library for case (c): $LIB32_WHY"
    exit 77
fi
install -o root -g root -m 0666 "$LIB32" "$DIR32/libsockfix.so" || fail "install the 32-bit library"
# One that anybody may replace would run inside every 32-bit setuid program:
# refused, even with --allow-missing-abi.
out=$(sfx preload enable --allow-missing-abi 2>&1) && fail "a world-writable 32-bit library was enabled: $out"
[ -e $F ] && fail "the refused enable wrote $F"
grep -q "refusing.*$DIR32/libsockfix.so" <<<"$out" || fail "no clear refusal of the world-writable 32-bit library: $out"
chmod 0644 "$DIR32/libsockfix.so"
out=$(sfx preload enable 2>&1) || fail "enable with the 32-bit library installed failed: $out"
note "enable: $out"
[ "$(cat $F)" = '/usr/$LIB/libsockfix.so' ] || fail "$F holds '$(cat $F)'"
run "$CLIENT32" || fail "the 32-bit program failed under the global install: $OUT $ERR"
[ -z "$ERR" ] || fail "the 32-bit program printed on stderr: $ERR"
grep -q "^bits=32 keepalive=1 idle=15 intvl=15 cnt=9 lib=$DIR32/libsockfix.so$" <<<"$OUT" ||
    fail "the 32-bit program did not get the i386 library's keepalive: $OUT"
note "32-bit program: $OUT"
run "$CLIENT64" || fail "the 64-bit program failed: $OUT $ERR"
[ -z "$ERR" ] || fail "the 64-bit program printed on stderr: $ERR"
grep -q "^bits=64 keepalive=1 idle=15 intvl=15 cnt=9 lib=$DIR64/libsockfix.so$" <<<"$OUT" || fail "64-bit program: $OUT"
note "64-bit program: $OUT"
err=$(env -i PATH=/usr/bin:/bin sh -c 'ls /etc >/dev/null && date >/dev/null' 2>&1) || fail "coreutils failed: $err"
[ -z "$err" ] || fail "coreutils printed on stderr: $err"
out=$(sfx preload status 2>&1); rc=$?
note "status: $out"
[ $rc = 0 ] || fail "status with both ABIs covered: exit $rc (want 0): $out"
grep -q "^abi i386 .*library present: $DIR32/libsockfix.so" <<<"$out" || fail "status does not report i386 present: $out"
grep -q "^abi x86_64 .*library present: $DIR64/libsockfix.so" <<<"$out" || fail "status does not report x86_64 present: $out"
grep -q 'library missing' <<<"$out" && fail "status reports a missing ABI: $out"
out=$(sfx preload disable 2>&1) || fail "disable failed: $out"
[ -e $F ] && fail "disable left $F"
run "$CLIENT32"; [ -z "$ERR" ] && grep -q 'lib=-$' <<<"$OUT" || fail "32-bit program after disable: $OUT $ERR"
echo inner-ok
INNER

res=$(unshare -m --propagation private bash "$CT_TMP/inner.sh" "$CT_TMP" "$SFX" "$CT_LIB" \
    "${CT_LIB32:-}" "${CT_LIB32_WHY:-not given by the harness}" "$dst" "$CT_BIN/ship_abi_client" 2>&1)
rc=$?
printf '%s\n' "$res"
[ "$(cat /etc/ld.so.preload 2>/dev/null | sha256sum)" = "$real_before" ] || fail "the real /etc/ld.so.preload changed!"
[ $rc = 77 ] && exit 77
[ $rc = 0 ] && [ "$(printf '%s\n' "$res" | tail -n 1)" = inner-ok ] || fail "namespace part failed (exit $rc)"
exit 0
