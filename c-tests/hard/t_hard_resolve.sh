# libc's functions found the fast way (libc's own symbol table, one pass at
# start-up) must be exactly what dlsym(RTLD_NEXT) would have given, and the
# dlsym fallback must take over wherever the table's answer could differ.
# The library's exported sockfix_resolved() tells, slot by slot, how each
# function was found, the address the library calls, and what
# dlsym(RTLD_NEXT) answers from inside the library (c-tests/hard/hard_resolve.c):
#   (a) preloaded alone: every slot from libc's table, all agree;
#   (b) with a second preload library after it that wraps connect
#       (hard_resolve_shim.c): connect through dlsym, and it is the shim's
#       (a connect reaches the shim); every other slot from the table;
#   (c) the shim before it (LD_PRELOAD="shim sockfix"): RTLD_NEXT passes the
#       shim by, so the table serves again;
#   (d) a library between it and libc without a GNU hash table (nothing can
#       be checked in it cheaply): every slot through dlsym, all agree;
#   (e) dlopen()ed by the program (libc comes first in the link map): every
#       slot through dlsym, all agree;
#   (f) the 32-bit library with a 32-bit program, when built: as (a).
source "$CT_ROOT/c-tests/common/lib.sh"
[ -e "$CT_LIB" ] || fail "library not built: $CT_LIB"
clear_stray_settings LD_PRELOAD
P=$CT_BIN/hard_resolve
SHIM=$CT_BIN/hard_resolve_shim
[ -x "$P" ] && [ -e "$SHIM" ] || fail "hard_resolve or its shim not built"
SRC=$CT_ROOT/c-tests/hard

# run NAME PRELOAD ARGS...: the probe's report in $CT_TMP/NAME.out.
run() {
    local name=$1 pre=$2; shift 2
    env LD_PRELOAD="$pre" SOCKFIX_CONFIG=/dev/null "$@" >"$CT_TMP/$name.out" 2>&1
    local rc=$?
    note "$name: $(grep '^table=' "$CT_TMP/$name.out")"
    if [ $rc != 0 ]; then
        grep -v ' ok$' "$CT_TMP/$name.out" | head -n 20
        fail "$name: exit $rc"
    fi
}
field() { sed -n "s/.*\\b$2=\\([0-9a-fx]*\\).*/\\1/p" "$CT_TMP/$1.out" | head -n 1; }
via() { awk -v n="$2" '$1 == n {print $2}' "$CT_TMP/$1.out"; }

# (a)
run alone "$CT_LIB" "$P"
[ "$(field alone dlsym)" = 0 ] && [ "$(field alone missing)" = 0 ] || fail "alone: not every slot from libc's table"

# (b)
run shim_after "$CT_LIB $SHIM" "$P" --shim "$SHIM"
[ "$(via shim_after connect)" = dlsym ] || fail "shim after: connect not through dlsym"
[ "$(awk '$1 == "connect" {print $3}' "$CT_TMP/shim_after.out")" = "$(field shim_after shim_connect)" ] ||
    fail "shim after: connect is not the shim's"
[ "$(field shim_after shim_calls)" = 1 ] || fail "shim after: the program's connect did not reach the shim"
[ "$(field shim_after dlsym)" = 1 ] || fail "shim after: more than connect went to dlsym"

# (c)
run shim_before "$SHIM $CT_LIB" "$P"
[ "$(field shim_before dlsym)" = 0 ] || fail "shim before: slots went to dlsym"

# (d)
gcc -O2 -shared -fPIC -DNO_HOOKED -Wl,--hash-style=sysv -o "$CT_TMP/libsysv.so" "$SRC/hard_resolve_shim.c" ||
    fail "cannot build the SysV-hash shim"
run sysv_between "$CT_LIB $CT_TMP/libsysv.so" "$P"
[ "$(field sysv_between table)" = 0 ] || fail "sysv between: slots from libc's table"

# (e)
run dlopened "" "$P" --dlopen "$CT_LIB"
[ "$(field dlopened table)" = 0 ] || fail "dlopened: slots from libc's table"

# (f)
if [ -n "${CT_LIB32:-}" ]; then
    if gcc -m32 -O2 -o "$CT_TMP/hard_resolve32" "$SRC/hard_resolve.c" -ldl 2>"$CT_TMP/gcc32.err"; then
        run alone32 "$CT_LIB32" "$CT_TMP/hard_resolve32"
        [ "$(field alone32 dlsym)" = 0 ] || fail "32-bit: not every slot from libc's table"
    else
        note "no 32-bit probe: $(head -n 1 "$CT_TMP/gcc32.err")"
    fi
else
    note "no 32-bit library: ${CT_LIB32_WHY:-?}"
fi
echo "ok"
