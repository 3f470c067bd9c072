# quick: skip: one of CPython's own suites, the long part of scripts/test
# Peer suite (the long part of scripts/test): the I/O half of CPython's
# test_asyncio (subprocesses, SSL, streams, sendfile, low-level socket calls,
# selector, UNIX and proactor event loops, servers, transports) run without
# and then with the library under aggressive settings; every test must give
# the same result both ways. The other half is t_peer_cpython_asyncio_tasks.
# About 70 s.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/peer_lib.sh"
mapfile -t mods < <("$PEER_PY" "$CT_ROOT/c-tests/peer/peer_asyncio_split.py" io)
[ ${#mods[@]} -gt 0 ] || fail "no test_asyncio modules found"
peer_suite "test_asyncio (I/O half: ${#mods[@]} modules)" "${mods[@]}"
echo "ok: test_asyncio, I/O half: same results with the library"
