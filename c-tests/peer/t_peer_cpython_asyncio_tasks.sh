# quick: skip: one of CPython's own suites, the long part of scripts/test
# Peer suite (the long part of scripts/test): the other half of CPython's
# test_asyncio (tasks, task groups, futures, events, base event loop, locks,
# queues, timeouts, runners, threads: every module that
# t_peer_cpython_asyncio_io does not run) run without and then with the
# library under aggressive settings; every test must give the same result
# both ways. About 75 s.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/peer_lib.sh"
mapfile -t mods < <("$PEER_PY" "$CT_ROOT/c-tests/peer/peer_asyncio_split.py" tasks)
[ ${#mods[@]} -gt 0 ] || fail "no test_asyncio modules found"
peer_suite "test_asyncio (tasks half: ${#mods[@]} modules)" "${mods[@]}"
echo "ok: test_asyncio, tasks half: same results with the library"
