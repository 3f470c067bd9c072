# Peer suite (the long part of scripts/test): CPython's own test_eintr and
# test_signal (its EINTR retries, PEP 475, signal delivery, wakeup fds,
# itimers, pthread_kill, signals between processes) run without and then
# with the library under aggressive settings (keepalive after 1 s, user
# timeout, idle check after 1 s, server side on); every test must give the
# same result (pass, skip, fail or error) both ways. About 55 s; a test file
# that hangs is ended after 60 s (test_signal takes about 18 s).
source "$CT_ROOT/c-tests/lib.sh"
PEER_TIMEOUT=60
source "$CT_ROOT/c-tests/peer_lib.sh"
peer_suite "test_eintr test_signal" test_eintr test_signal
echo "ok: test_eintr, test_signal: same results with the library"
