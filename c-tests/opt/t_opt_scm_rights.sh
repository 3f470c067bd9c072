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
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
fdlife nolib scm-rights-onto-stale
expect "without library, scm-rights-onto-stale" $UNTOUCHED
fdlife nolib scm-rights-configured
expect "without library, scm-rights-configured" keepalive=0 idle=77

need_lib
fdlife_check scm-rights-onto-stale errno_kept=1 $DEFAULTS
fdlife_check scm-rights-configured errno_kept=1 keepalive=1 idle=77 intvl=15 cnt=9
fdlife_checks_done
exit 0
