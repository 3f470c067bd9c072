# Shell completions: `sockfix completions bash|zsh` prints a script that
# knows every subcommand that --help lists and the setting options; the
# bash one, loaded into bash, completes them. The Debian package installs
# these outputs (bash-completion, zsh vendor-completions).
source "$CT_ROOT/c-tests/common/lib.sh"
SFX=${CT_SFX:-$CT_ROOT/target/release/sockfix}
[ -x "$SFX" ] || fail "$SFX is not executable (cargo build --release builds it)"

help=$("$SFX" --help) || fail "sockfix --help"
# The subcommands: the words of the "Subcommands:" block of --help.
subs=$(sed -n '/^Subcommands:/,/^$/p' <<<"$help" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(wc -w <<<"$subs")" -ge 6 ] || fail "--help lists too few subcommands: $subs"
for shell in bash zsh; do
    out=$("$SFX" completions $shell 2>"$CT_TMP/err") || fail "completions $shell: exit $?: $(cat "$CT_TMP/err")"
    [ -s "$CT_TMP/err" ] && fail "completions $shell wrote on stderr: $(cat "$CT_TMP/err")"
    for w in $subs --keepalive --user-timeout --config --library; do
        grep -q -- "$w" <<<"$out" || fail "the $shell completion does not mention $w"
    done
done
"$SFX" completions zsh | head -n 1 | grep -qx '#compdef sockfix' || fail "the zsh completion does not start with #compdef sockfix"
out=$("$SFX" completions fish 2>&1) && fail "completions fish: accepted"
out=$("$SFX" completions 2>&1); [ $? = 2 ] || fail "completions without a shell: not a usage error"

# bash completes the subcommands and the options.
"$SFX" completions bash >"$CT_TMP/sockfix.bash"
got=$(bash -c 'source "$1"; COMP_WORDS=(sockfix ""); COMP_CWORD=1; _sockfix sockfix "" sockfix; printf "%s\n" "${COMPREPLY[@]}"' _ "$CT_TMP/sockfix.bash")
for w in $subs; do
    grep -qx -- "$w" <<<"$got" || fail "bash does not complete the subcommand $w: $(echo $got)"
done
got=$(bash -c 'source "$1"; COMP_WORDS=(sockfix --keep); COMP_CWORD=1; _sockfix sockfix --keep sockfix; printf "%s\n" "${COMPREPLY[@]}"' _ "$CT_TMP/sockfix.bash")
grep -qx -- "--keepalive" <<<"$got" || fail "bash does not complete --keep: $got"
if command -v zsh >/dev/null; then
    "$SFX" completions zsh >"$CT_TMP/_sockfix"
    zsh -n "$CT_TMP/_sockfix" || fail "the zsh completion does not parse"
fi
note "ok: bash and zsh completions name $(echo $subs)"
exit 0
