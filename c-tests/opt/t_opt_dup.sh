# dup/dup2/F_DUPFD and socket options (SPEC: "dup2 onto a tracked fd").
# The library keeps per-fd-number state (options the app set; "already applied"); an fd
# number that a new socket reaches through dup/dup2 must not inherit the
# state of the socket that had the number before, and a socket the app
# configured keeps the app's options when connected through a duplicate.
#   dup2-onto-configured: fd A configured by the app (SO_KEEPALIVE=0,
#       TCP_KEEPIDLE=77); a fresh socket dup2'ed onto A, connected via A:
#       a fresh socket, so 1/15/15/9.
#   dup2-onto-connected: A was connected (library applied); a fresh socket
#       dup2'ed onto A and connected: 1/15/15/9, not nothing.
#   dup-onto-stale: a connection on N closed, a new socket dup()ed onto N:
#       1/15/15/9.
#   fcntl-dupfd-onto-stale, fcntl-dupfd-cloexec-onto-stale: the same with
#       fcntl(F_DUPFD / F_DUPFD_CLOEXEC, N).
#   dup-configured: the app sets TCP_KEEPIDLE=77, dup()s, closes the
#       original, connects the duplicate: idle stays 77 (the app wins).
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/common/opt_lib.sh"
stale=(dup2-onto-configured dup2-onto-connected dup-onto-stale fcntl-dupfd-onto-stale
       fcntl-dupfd-cloexec-onto-stale)
for s in "${stale[@]}"; do
    fdlife nolib $s
    expect "without library, $s" $UNTOUCHED
done
fdlife nolib dup-configured
expect "without library, dup-configured" keepalive=0 idle=77

need_lib
for s in "${stale[@]}"; do
    fdlife_check $s errno_kept=1 $DEFAULTS
done
fdlife_check dup-configured errno_kept=1 keepalive=1 idle=77 intvl=15 cnt=9
fdlife_checks_done
exit 0
