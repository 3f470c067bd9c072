# The JDK interrupts its own threads with a signal: a thread blocked in a
# socket read whose socket another thread closes (Socket.close,
# SocketChannel.close) or whose channel read is interrupted
# (Thread.interrupt: ClosedByInterruptException) is woken by
# NativeThread.signal, tgkill(SIGRTMAX-2) with si_code SI_TKILL from the
# process itself, after the fd was dup2'ed over with a closed socket. Also
# SO_TIMEOUT and System.exit while threads are blocked. With the library
# (defaults) each must act exactly as without it, within the same bounds,
# and the JVM must exit promptly. The server side accepts and never sends.
# (These held before the library let self-sent signals through: the read
# resumed after the JDK's signal finds its fd no longer a TCP socket, since
# the JDK dup2'ed a closed UNIX socket over it, and gets its EINTR; a poll
# is woken by the close itself. They guard that the JDK's wake-up keeps
# working, not the signal-origin rule alone.)
source "$CT_ROOT/c-tests/common/lib.sh"
source "$CT_ROOT/c-tests/peer/rt_lib.sh"
command -v java >/dev/null && command -v javac >/dev/null ||
    skip "java or javac not installed (Debian: apt-get install default-jdk-headless)"
note "$(java -version 2>&1 | head -n 1)"
mkdir -p "$CT_TMP/classes"
javac -d "$CT_TMP/classes" "$CT_ROOT/c-tests/peer/peer_java_signals.java" || fail "javac failed"
j=(java -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$CT_TMP/classes" PeerJavaSignals)

rt_case "Socket.close(), reader in InputStream.read()" 0 1000 "${j[@]}" socket_close
rt_case "Socket.close(), reader in read() with SO_TIMEOUT 5 s" 0 1000 "${j[@]}" socket_close_timed
rt_case "SocketChannel.close(), reader in read()" 0 1000 "${j[@]}" channel_close
rt_case "Thread.interrupt(), reader in SocketChannel.read()" 0 1000 "${j[@]}" channel_interrupt
rt_case "setSoTimeout(1000), read()" 900 2000 "${j[@]}" so_timeout
rt_case "System.exit(0) while two threads are blocked" 0 0 "${j[@]}" exit
rt_done
