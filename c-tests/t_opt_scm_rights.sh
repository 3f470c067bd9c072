# TCP sockets that arrive by SCM_RIGHTS (a privileged helper binding a
# source port, a connection broker): the library did not see them created.
#   scm-rights-onto-stale: a connection on fd N (options applied) is
#       closed; a fresh, unconnected TCP socket received by SCM_RIGHTS lands
#       on N and is connected: it must get 1/15/15/9 like any connection
#       (stale per-fd state must not make the library skip it).
#   scm-rights-configured: the app set TCP_KEEPIDLE=77 on the socket before
#       passing it (to itself, as between two processes); connected after
#       it is received: the app's 77 must stay (the app's own setsockopt
#       always wins, SPEC invariants).
source "$CT_ROOT/c-tests/lib.sh"
source "$CT_ROOT/c-tests/opt_lib.sh"
FDL=$CT_BIN/opt_fdlife
[ -x "$FDL" ] || fail "$FDL not built"

run() { # run lib|nolib SCENARIO
    if [ "$1" = lib ]; then OUT=$(with_lib "$FDL" "$2" 2>"$CT_TMP/probe.err"); RC=$?
    else OUT=$(without_lib "$FDL" "$2" 2>"$CT_TMP/probe.err"); RC=$?; fi
    [ $RC = 0 ] || fail "$2: opt_fdlife exit $RC: $(cat "$CT_TMP/probe.err")"
    OUT="pid=0 $OUT"
}

run nolib scm-rights-onto-stale
expect "without library, scm-rights-onto-stale" $UNTOUCHED
run nolib scm-rights-configured
expect "without library, scm-rights-configured" keepalive=0 idle=77

need_lib
errors=()
check() { # check SCENARIO KEY=VALUE...: collect failures, report all at the end
    local s=$1 out
    shift
    run lib "$s"
    out=$( (expect "$s" "$@") 2>&1) || { errors+=("${out#FAIL: }"); return; }
    printf '%s\n' "$out"
}
check scm-rights-onto-stale errno_kept=1 $DEFAULTS
check scm-rights-configured errno_kept=1 keepalive=1 idle=77 intvl=15 cnt=9
[ ${#errors[@]} = 0 ] || fail "$(printf '%s\n' "${errors[@]}")"
exit 0
