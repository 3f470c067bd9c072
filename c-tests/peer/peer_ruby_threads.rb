# Ruby's own ways of interrupting a thread blocked in a socket read, for
# c-tests/peer/t_peer_ruby_threads.sh. Ruby's sockets are non-blocking: a read
# that finds nothing waits in poll(); Thread#kill, Thread#raise, Timeout and
# the threads' end at exit wake that thread with pthread_kill(SIGVTALRM)
# (the "unblocking function" of its blocking region) and count on the poll
# failing with EINTR.
#
#   ruby peer_ruby_threads.rb CASE
#
# Every case makes a loopback TCP connection whose server side accepts and
# never sends. Prints lib=0|1, "result=OUTCOME elapsed_ms=N" and
# "done_at=EPOCH_MS" (see c-tests/peer/rt_lib.sh); exits 0 on the promised
# outcome. A watchdog thread cannot help here (a hung thread takes the
# interpreter's exit with it): the test's `timeout` ends a hang.
require 'socket'
require 'timeout'

$stdout.sync = true
puts "lib=#{File.read('/proc/self/maps').include?('/libsockfix.so') ? 1 : 0}"

def now_ms
  Process.clock_gettime(Process::CLOCK_MONOTONIC, :millisecond)
end

def done(rc)
  puts "done_at=#{(Time.now.to_r * 1000).to_i}"
  exit!(rc) if rc != 0
  exit(0)
end

server = TCPServer.new('127.0.0.1', 0)
sock = TCPSocket.new('127.0.0.1', server.addr[1])
peer = server.accept

# A thread blocked in BLOCK (given sock); returns [thread, queue of outcomes].
def blocked_reader(sock)
  q = Queue.new
  t = Thread.new do
    begin
      r = yield sock
      q << "returned:#{r.inspect}"
    rescue Exception => e
      q << e.class.name
    ensure
      q << 'ensure' if q.empty? # Thread#kill: no exception, only ensure
    end
  end
  sleep 0.5 # it is in poll() by now
  [t, q]
end

case ARGV[0]
when 'kill_read'
  # Thread#kill of a thread blocked in IO#read: it runs its ensure and ends.
  t, q = blocked_reader(sock) { |s| s.read(1) }
  t0 = now_ms
  t.kill
  t.join
  r = q.empty? ? 'none' : q.pop
  puts "result=#{r} elapsed_ms=#{now_ms - t0}"
  done(r == 'ensure' && !t.alive? ? 0 : 1)
when 'raise_sysread'
  t, q = blocked_reader(sock) { |s| s.sysread(1) }
  t0 = now_ms
  t.raise(ArgumentError, 'from the main thread')
  r = q.pop
  puts "result=#{r} elapsed_ms=#{now_ms - t0}"
  t.join
  done(r == 'ArgumentError' ? 0 : 1)
when 'raise_select'
  t, q = blocked_reader(sock) { |s| IO.select([s]) }
  t0 = now_ms
  t.raise(ArgumentError, 'from the main thread')
  r = q.pop
  puts "result=#{r} elapsed_ms=#{now_ms - t0}"
  t.join
  done(r == 'ArgumentError' ? 0 : 1)
when 'timeout_read'
  # Timeout.timeout: its timer thread raises into this one after 1 s.
  t0 = now_ms
  r = begin
    Timeout.timeout(1) { sock.read(1) }
    'returned'
  rescue Timeout::Error => e
    e.class.name
  end
  puts "result=#{r} elapsed_ms=#{now_ms - t0}"
  done(r == 'Timeout::Error' ? 0 : 1)
when 'exit'
  # The main thread ends while two threads are blocked (read, IO.select):
  # the interpreter kills them at exit and waits for them.
  blocked_reader(sock) { |s| s.read(1) }
  sock2 = TCPSocket.new('127.0.0.1', server.addr[1])
  peer2 = server.accept
  blocked_reader(sock2) { |s| IO.select([s]) }
  puts 'result=exit elapsed_ms=0'
  done(0)
else
  puts "unknown case #{ARGV[0]}"
  exit!(2)
end
