# The README's first command: scripts/demo plays every story, without and
# with the library, and mends each (as root, the vanished server included).
source "$CT_ROOT/c-tests/common/lib.sh"
clear_stray_settings LD_PRELOAD
out=$(timeout -k 5 120 bash "$CT_ROOT/scripts/demo" 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ $rc = 0 ] || fail "scripts/demo exited $rc"
want=4
[ "$(id -u)" = 0 ] && want=5
grep -q "^$want of $want stories mended\.\$" <<<"$out" || fail "not every story was shown and mended"
grep -q "not shown" <<<"$out" && [ "$(id -u)" = 0 ] && fail "a story was not shown, as root"
grep -qi "seed" <<<"$out" && fail "the demo speaks of seeds"
echo "all stories shown and mended"
