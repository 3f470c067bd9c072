# CPython's main thread blocked in sock.recv() on a loopback connection that
# never answers, interrupted by a signal the process sends itself, for
# c-tests/peer/t_peer_cpython_selfsignal.sh. CPython runs a Python-level handler
# only when the blocked call returns (its C handler just notes the signal):
# recv() fails with EINTR, the handler runs, and if it raises, recv() is
# aborted with that exception; if it returns, recv() is retried (PEP 475).
#
#   python3 peer_cpython_selfsignal.py CASE
#
# Prints lib=0|1, "result=OUTCOME elapsed_ms=N" and "done_at=EPOCH_MS" (see
# c-tests/peer/rt_lib.sh); exits 0 on the promised outcome. A watchdog thread
# ends a hang after 5 s with "result=hung" and status 3.
import os
import signal
import socket
import sys
import threading
import time


class Interrupted(Exception):
    pass


print("lib=%d" % ("/libsockfix.so" in open("/proc/self/maps").read()), flush=True)
MAIN = threading.main_thread().ident
t_action = [0.0]
handled = []


def now():
    return time.monotonic()


def done(rc):
    print("done_at=%d" % int(time.time() * 1000), flush=True)
    sys.exit(rc)


def watchdog():
    time.sleep(5)
    print("result=hung elapsed_ms=5000", flush=True)
    os._exit(3)


threading.Thread(target=watchdog, daemon=True).start()

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
c = socket.create_connection(srv.getsockname())
peer, _ = srv.accept()


def raising(signum, frame):
    handled.append(signum)
    raise Interrupted(signal.Signals(signum).name)


def in_thread(fn):
    # fn runs in a helper thread that blocks the signals it sends, so that a
    # process-directed one can only land on the main thread.
    def run():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2})
        fn()
    threading.Thread(target=run, daemon=True).start()


def blocked_recv(want):
    try:
        r = c.recv(1)
        res = "returned:%r" % r
    except Exception as e:
        res = type(e).__name__
    print("result=%s elapsed_ms=%d" % (res, (now() - t_action[0]) * 1000), flush=True)
    return 0 if res == want else 1


case = sys.argv[1]
if case == "pthread_kill_raise":
    # Another thread: pthread_kill(main thread, SIGUSR1); the handler raises.
    signal.signal(signal.SIGUSR1, raising)

    def go():
        time.sleep(0.5)
        t_action[0] = now()
        signal.pthread_kill(MAIN, signal.SIGUSR1)
    in_thread(go)
    done(blocked_recv("Interrupted"))
elif case == "kill_self_raise":
    # Another thread: os.kill(os.getpid(), SIGUSR2) (process-directed, SI_USER
    # from the process itself); the handler raises.
    signal.signal(signal.SIGUSR2, raising)

    def go():
        time.sleep(0.5)
        t_action[0] = now()
        os.kill(os.getpid(), signal.SIGUSR2)
    in_thread(go)
    done(blocked_recv("Interrupted"))
elif case == "pthread_kill_handler_runs":
    # A handler that returns: it runs while recv() is blocked (recv fails with
    # EINTR, the handler runs, PEP 475 retries recv). Then a second signal
    # whose handler raises ends the recv.
    def counting(signum, frame):
        handled.append(signum)
        if len(handled) >= 2:
            raise Interrupted("second")
    signal.signal(signal.SIGUSR1, counting)
    ran = threading.Event()

    def go():
        time.sleep(0.5)
        signal.pthread_kill(MAIN, signal.SIGUSR1)
        deadline = now() + 2
        while not handled and now() < deadline:
            time.sleep(0.01)
        if not handled:
            print("the first handler did not run within 2 s: recv was not interrupted", flush=True)
            return
        print("first handler ran, recv retried", flush=True)
        time.sleep(0.3)
        t_action[0] = now()
        signal.pthread_kill(MAIN, signal.SIGUSR1)
    in_thread(go)
    done(blocked_recv("Interrupted"))
elif case == "itimer_real":
    # The process's own timer: setitimer(ITIMER_REAL, 1 s), SIGALRM handler
    # raises TimeoutError.
    def alarm(signum, frame):
        raise TimeoutError()
    signal.signal(signal.SIGALRM, alarm)
    t_action[0] = now()
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    done(blocked_recv("TimeoutError"))
else:
    print("unknown case", case)
    sys.exit(2)
