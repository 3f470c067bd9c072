# CPython's main thread blocked in sock.recv() (the server side accepts and
# never sends) is interrupted by a signal the process sends itself: another
# thread's signal.pthread_kill(main, SIGUSR1) (tgkill, SI_TKILL) or
# os.kill(os.getpid(), SIGUSR2) (SI_USER from itself), or its own
# setitimer(ITIMER_REAL) SIGALRM (SI_KERNEL). A handler that raises must
# abort the recv within 1 s, and a handler that returns must run while recv
# is blocked (then recv is retried, PEP 475), with the library (defaults) as
# without it.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/rt_lib.sh"
need python3
note "$(python3 -V 2>&1)"
py=$CT_ROOT/c-tests/peer/peer_cpython_selfsignal.py

rt_case "pthread_kill(main, SIGUSR1), handler raises" 0 1000 python3 "$py" pthread_kill_raise
rt_case "kill(getpid(), SIGUSR2), handler raises" 0 1000 python3 "$py" kill_self_raise
rt_case "pthread_kill(main, SIGUSR1) twice, first handler returns" 0 1000 python3 "$py" pthread_kill_handler_runs
rt_case "setitimer(ITIMER_REAL, 1 s), SIGALRM handler raises" 900 2000 python3 "$py" itimer_real
rt_done
