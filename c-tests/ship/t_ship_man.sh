# The manual pages sockfix(1), sockfix.conf(5), libsockfix(7): they render
# with groff and man without a single warning (as lintian checks them), show
# the version of Cargo.toml, and stay in step with the code: every option of
# `sockfix --help` (and of each subcommand's --help) and every subcommand is
# in sockfix(1), every setting that the library's own parser reports (in
# `sockfix config`, which runs it) is in sockfix.conf(5) and in the example
# /etc/sockfix.conf, and that example parses without a warning.
source "$CT_ROOT/c-tests/common/lib.sh"
need groff
need man
S=$CT_ROOT/scripts
SFX=${CT_SFX:-$CT_ROOT/target/release/sockfix}
[ -x "$SFX" ] || fail "$SFX is not executable (cargo build --release builds it)"
ver=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$CT_ROOT/Cargo.toml" | head -n 1)
for p in sockfix.1 sockfix.conf.5 libsockfix.7; do
    f=$S/$p
    [ -f "$f" ] || fail "missing $f"
    err=$(groff -man -ww -z "$f" 2>&1)
    [ -z "$err" ] || fail "groff -man -ww warns about $p: $err"
    err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
    [ -z "$err" ] || fail "man --warnings complains about $p: $err"
    out=$(MANWIDTH=80 MAN_KEEP_FORMATTING=0 man -l "$f" 2>&1 | col -b 2>/dev/null || MANWIDTH=80 man -l "$f" 2>&1)
    for sec in NAME DESCRIPTION "SEE ALSO"; do
        grep -q "^$sec" <<<"$out" || fail "$p has no $sec section"
    done
    head -n 1 "$f" | grep -q "\"sockfix $ver\"" || fail "$p: .TH does not say sockfix $ver: $(head -n 1 "$f")"
    note "ok: $p renders cleanly ($(wc -l <<<"$out") lines)"
done

# Every option of --help, and of each subcommand's --help, is documented;
# so is every subcommand.
help=$("$SFX" --help) || fail "sockfix --help"
subs=$(sed -n '/^Subcommands:/,/^$/p' <<<"$help" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(wc -w <<<"$subs")" -ge 6 ] || fail "--help lists too few subcommands: $subs"
for c in $subs; do
    [ "$c" = help ] && continue
    help+=$'\n'$("$SFX" "$c" --help) || fail "sockfix $c --help"
done
page=$(MANWIDTH=200 man -l "$S/sockfix.1" 2>/dev/null)
for o in $(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
    grep -q -- "$o" <<<"$page" || fail "sockfix(1) does not document $o"
done
for c in $subs; do
    grep -Eq "^ +$c( |$)" <<<"$page" || fail "sockfix(1) does not document the command $c"
done
note "ok: sockfix(1) covers --help and the subcommands: $(echo $subs)"

# Every setting is documented, and in the example config.
keys=$(env -i SOCKFIX_CONFIG=/dev/null "$SFX" config | sed -n 's/^\(SOCKFIX_[A-Z_]*\)=.*/\1/p' | sort -u)
[ "$(wc -w <<<"$keys")" -ge 15 ] || fail "sockfix config printed too few keys: $keys"
conf5=$(MANWIDTH=200 man -l "$S/sockfix.conf.5" 2>/dev/null)
for k in $keys SOCKFIX_CONFIG; do
    grep -q "$k" <<<"$conf5" || fail "sockfix.conf(5) does not document $k"
    [ "$k" = SOCKFIX_CONFIG ] || grep -q "^#$k=" "$S/examples/sockfix.conf" || fail "examples/sockfix.conf has no #$k= line"
done
err=$(env -i SOCKFIX_CONFIG="$S/examples/sockfix.conf" "$SFX" config 2>&1 >/dev/null) ||
    fail "examples/sockfix.conf does not parse cleanly: $err"
[ -z "$err" ] || fail "examples/sockfix.conf: sockfix config warns: $err"
# With every setting uncommented (the defaults), it still parses cleanly.
sed -n 's/^#\(SOCKFIX_[A-Z_]*=.\{1,\}\)$/\1/p' "$S/examples/sockfix.conf" >"$CT_TMP/all.conf"
[ "$(grep -c . "$CT_TMP/all.conf")" -ge 15 ] || fail "examples/sockfix.conf has too few #KEY= lines"
err=$(env -i SOCKFIX_CONFIG="$CT_TMP/all.conf" "$SFX" config 2>&1 >/dev/null) ||
    fail "examples/sockfix.conf, uncommented: $err"
[ -z "$err" ] || fail "examples/sockfix.conf, uncommented: sockfix config warns: $err"
note "ok: sockfix.conf(5) and examples/sockfix.conf cover: $(echo $keys)"
exit 0
