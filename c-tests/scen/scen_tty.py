#!/usr/bin/env python3
"""Drive an interactive program (the mariadb CLI) on a pseudo-terminal, as a
person at a shell would: the CLI only reconnects after "server has gone
away" in interactive mode (in batch mode, stdin not a tty, it never does).
Helper of c-tests/scen/t_scen_idle.sh; not a test itself.

    scen_tty.py SLEEP LINE1 LINE2 -- CMD...

Types LINE1, waits for its answer, sleeps SLEEP seconds, types LINE2, waits
for its answer, types "quit". Everything the program printed goes to stdout.
Bounded: each wait at most 10 s, the whole run at most 30 s plus SLEEP.
"""
import os
import pty
import select
import signal
import sys
import time


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        sys.stderr.write(__doc__)
        return 1
    pause, line1, line2, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[5:]
    deadline = time.monotonic() + 30 + pause
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = bytearray()

    def read_for(seconds, until=None):
        end = min(time.monotonic() + seconds, deadline)
        start = len(out)
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            if not r:
                continue
            try:
                d = os.read(fd, 65536)
            except OSError:
                return False
            if not d:
                return False
            out.extend(d)
            if until and any(u in out[start:] for u in until):
                # a little more, for the lines that follow the answer
                more_end = time.monotonic() + 0.3
                while time.monotonic() < more_end:
                    r, _, _ = select.select([fd], [], [], 0.05)
                    if r:
                        try:
                            d = os.read(fd, 65536)
                        except OSError:
                            return False
                        if not d:
                            return False
                        out.extend(d)
                return True
        return True

    answers = [b"row in set", b"rows in set", b"Query OK", b"ERROR"]
    read_for(10, [b"> "])                     # the prompt
    os.write(fd, line1.encode() + b"\n")
    read_for(10, answers)
    time.sleep(pause)
    os.write(fd, line2.encode() + b"\n")
    # After "gone away" the CLI reconnects and retries: wait for the retry.
    read_for(10, [b"Query OK", b"rows in set", b"row in set", b"ERROR 2013"])
    os.write(fd, b"quit\n")
    read_for(5, [b"Bye"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
