# quick: skip: one of CPython's own suites, the long part of scripts/test
# Peer suite (the long part of scripts/test): CPython's own test_signal
# (signal delivery, wakeup fds, itimers, pthread_kill, sigwait, signals
# between processes and from subprocesses, stress tests) run without and
# then with the library under aggressive settings (keepalive after 1 s, user
# timeout, idle check after 1 s, server side on); every test must give the
# same result (pass, skip, fail or error) both ways. About 95 s.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/peer_lib.sh"
peer_suite "test_signal" test_signal
echo "ok: test_signal: same results with the library"
