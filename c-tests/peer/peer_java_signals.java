// The JDK's own ways of interrupting a thread blocked in a socket read, for
// c-tests/peer/t_peer_java_signals.sh. On Linux the JDK wakes a thread blocked in
// a read on a socket that another thread closes (Socket.close,
// SocketChannel.close, Thread.interrupt of a channel reader) by sending that
// thread a signal, pthread_kill(SIGRTMAX-2) (NativeThread.signal), and counts
// on the read failing with EINTR.
//
//   java -cp DIR PeerJavaSignals CASE
//
// Every case makes a loopback TCP connection whose server side accepts and
// never sends, so a read blocks until something interrupts it. Prints
// lib=0|1 (libsockfix.so mapped), "result=NAME elapsed_ms=N" (N: from the interrupting action to the reader
// seeing its outcome) and "done_at=EPOCH_MS" just before main returns or
// exits, and exits 0 when the outcome is the one the JDK promises. A watchdog
// prints "result=hung" and halts the JVM with status 3 after 5 s.
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

class PeerJavaSignals {
    static final AtomicLong actionAt = new AtomicLong();
    static final AtomicReference<String> outcome = new AtomicReference<>("none");
    static final AtomicLong outcomeAt = new AtomicLong();
    static final CountDownLatch finished = new CountDownLatch(1);

    static void record(String what) {
        outcomeAt.set(System.nanoTime());
        outcome.set(what);
        finished.countDown();
    }

    static void watchdog() {
        Thread w = new Thread(() -> {
            try { Thread.sleep(5000); } catch (InterruptedException e) { return; }
            System.out.println("result=hung elapsed_ms=5000");
            System.out.flush();
            Runtime.getRuntime().halt(3);
        });
        w.setDaemon(true);
        w.start();
    }

    // Reader thread: runs body, records the exception's class (or what read returned).
    interface Body { String run() throws Exception; }
    static Thread reader(Body body) {
        Thread t = new Thread(() -> {
            try {
                record("returned:" + body.run());
            } catch (Exception e) {
                record(e.getClass().getSimpleName());
            }
        });
        t.start();
        return t;
    }

    static int report(String want) throws Exception {
        finished.await();
        long ms = (outcomeAt.get() - actionAt.get()) / 1_000_000;
        System.out.println("result=" + outcome.get() + " elapsed_ms=" + ms);
        return outcome.get().equals(want) ? 0 : 1;
    }

    static void done(int rc) {
        System.out.println("done_at=" + System.currentTimeMillis());
        System.out.flush();
        System.exit(rc);
    }

    public static void main(String[] args) throws Exception {
        boolean lib = new String(java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("/proc/self/maps"))).contains("/libsockfix.so");
        System.out.println("lib=" + (lib ? 1 : 0));
        watchdog();
        ServerSocket server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
        String which = args[0];
        switch (which) {
            case "socket_close": {
                // java.net.Socket (NioSocketImpl): close() from another thread.
                Socket s = new Socket(addr.getAddress(), addr.getPort());
                Socket peer = server.accept();
                InputStream in = s.getInputStream();
                reader(() -> "" + in.read());
                Thread.sleep(500);
                actionAt.set(System.nanoTime());
                s.close();
                done(report("SocketException"));
            }
            case "socket_close_timed": {
                // The same with setSoTimeout(5000): the read waits in poll().
                Socket s = new Socket(addr.getAddress(), addr.getPort());
                Socket peer = server.accept();
                s.setSoTimeout(5000);
                InputStream in = s.getInputStream();
                reader(() -> "" + in.read());
                Thread.sleep(500);
                actionAt.set(System.nanoTime());
                s.close();
                done(report("SocketException"));
            }
            case "channel_close": {
                SocketChannel ch = SocketChannel.open(addr);
                Socket peer = server.accept();
                reader(() -> "" + ch.read(ByteBuffer.allocate(10)));
                Thread.sleep(500);
                actionAt.set(System.nanoTime());
                ch.close();
                done(report("AsynchronousCloseException"));
            }
            case "channel_interrupt": {
                SocketChannel ch = SocketChannel.open(addr);
                Socket peer = server.accept();
                Thread t = reader(() -> "" + ch.read(ByteBuffer.allocate(10)));
                Thread.sleep(500);
                actionAt.set(System.nanoTime());
                t.interrupt();
                done(report("ClosedByInterruptException"));
            }
            case "so_timeout": {
                // No other thread: the read's own timeout (a poll with a timeout).
                Socket s = new Socket(addr.getAddress(), addr.getPort());
                Socket peer = server.accept();
                s.setSoTimeout(1000);
                InputStream in = s.getInputStream();
                actionAt.set(System.nanoTime());
                reader(() -> "" + in.read());
                done(report("SocketTimeoutException"));
            }
            case "exit": {
                // System.exit while non-daemon threads are blocked in reads
                // (a Socket and a SocketChannel): the JVM must still exit.
                Socket s = new Socket(addr.getAddress(), addr.getPort());
                Socket peer1 = server.accept();
                SocketChannel ch = SocketChannel.open(addr);
                Socket peer2 = server.accept();
                InputStream in = s.getInputStream();
                reader(() -> "" + in.read());
                reader(() -> "" + ch.read(ByteBuffer.allocate(10)));
                Thread.sleep(500);
                System.out.println("result=exit elapsed_ms=0");
                done(0);
            }
            default:
                System.out.println("unknown case " + which);
                System.exit(2);
        }
    }
}
