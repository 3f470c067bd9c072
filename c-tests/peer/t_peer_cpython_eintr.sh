# quick: skip: one of CPython's own suites, the long part of scripts/test
# Peer suite (the long part of scripts/test): CPython's own test_eintr (PEP
# 475: every blocking call it wraps, interrupted by a SIGALRM storm, is
# retried by the interpreter: sockets, pipes, sleep, wait, select, poll,
# epoll, flock...) run without and then with the library under aggressive
# settings; every test must give the same result both ways. About 16 s.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/peer_lib.sh"
peer_suite "test_eintr" test_eintr
echo "ok: test_eintr: same results with the library"
