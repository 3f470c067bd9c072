# Ruby interrupts its own threads with signals: Thread#kill, Thread#raise,
# Timeout.timeout and the end of the program wake a thread blocked in a
# socket read (IO#read, IO#sysread, IO.select: a poll() on a non-blocking
# socket) with pthread_kill(SIGVTALRM), si_code SI_TKILL from the process
# itself. With the library (defaults) each must act exactly as without it,
# within the same bounds, and the interpreter must exit promptly. The server
# side accepts and never sends: only the interruption can end the read.
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/rt_lib.sh"
command -v ruby >/dev/null || skip "ruby not installed (Debian: apt-get install ruby)"
note "$(ruby -v)"
rb=$CT_ROOT/c-tests/peer/peer_ruby_threads.rb

rt_case "Thread#kill, thread in IO#read" 0 1000 ruby "$rb" kill_read
rt_case "Thread#raise, thread in IO#sysread" 0 1000 ruby "$rb" raise_sysread
rt_case "Thread#raise, thread in IO.select" 0 1000 ruby "$rb" raise_select
rt_case "Timeout.timeout(1) { IO#read }" 900 2000 ruby "$rb" timeout_read
rt_case "exit while two threads are blocked" 0 0 ruby "$rb" exit
rt_done
