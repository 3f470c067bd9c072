"""Print the modules of CPython's test.test_asyncio package, one a line, as
regrtest names (test.test_asyncio.test_x), for one of two halves of about
the same run time: "io" (the modules below that exist in this Python) or
"tasks" (all the others). Used by c-tests/peer/t_peer_cpython_asyncio_*.sh."""
import pkgutil
import sys

import test.test_asyncio as pkg

IO = {"test_subprocess", "test_ssl", "test_sslproto", "test_sock_lowlevel", "test_sendfile",
      "test_streams", "test_unix_events", "test_proactor_events", "test_selector_events",
      "test_server", "test_buffered_proto", "test_transports", "test_protocols", "test_events"}

half = sys.argv[1] if len(sys.argv) > 1 else ""
if half not in ("io", "tasks"):
    sys.exit("usage: peer_asyncio_split.py io|tasks")
for m in sorted(mod.name for mod in pkgutil.iter_modules(pkg.__path__)):
    if not m.startswith("test_"):
        continue
    if (m in IO) == (half == "io"):
        print("test.test_asyncio." + m)
