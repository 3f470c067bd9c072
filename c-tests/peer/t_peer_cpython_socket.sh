# quick: skip: one of CPython's own suites, the long part of scripts/test
# Peer suite (the long part of scripts/test): CPython's own test_socket (TCP,
# UDP, UNIX, socketpair, timeouts, sendmsg/recvmsg with SCM_RIGHTS,
# interrupted calls, non-blocking sockets, IPv6; the VSOCK tests are left
# out, see peer_lib.sh) and test_selectors (every selector, with signals and
# timeouts) run without and then with the library under aggressive
# settings; every test must give the same result both ways. About 100 s.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/peer_lib.sh"
peer_suite "test_socket test_selectors" test_socket test_selectors
echo "ok: test_socket, test_selectors: same results with the library"
