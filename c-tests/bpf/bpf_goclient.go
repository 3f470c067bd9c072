// bpf_goclient: a Go client the preload library cannot reach (built with
// CGO_ENABLED=0 by t_bpf_runtimes.sh: static, its own syscalls, no libc).
// Connects one of three ways, then prints the options the kernel gave its
// socket in bpf_client.c's format:
//
//	bpf_goclient MODE HOST PORT
//	  noka     net.Dialer{KeepAlive: -1}: Go leaves keepalive alone
//	  dialer   the default net.Dialer: Go sets its own keepalive (15 s)
//	  raw      syscall.Socket + syscall.Connect: no option set at all
//
// Output, one line:
//
//	keepalive=1 idle=11 intvl=3 cnt=4 user_timeout=20000 syncnt=2 local=IP:PORT
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// Not all of these are in Go 1.19's frozen syscall package: tcp(7) values.
const (
	tcpKeepidle    = 4
	tcpKeepintvl   = 5
	tcpKeepcnt     = 6
	tcpSyncnt      = 7
	tcpUserTimeout = 18
)

func opt(fd, level, name int) int {
	v, err := syscall.GetsockoptInt(fd, level, name)
	if err != nil {
		return -1
	}
	return v
}

func line(fd int) string {
	local := "?"
	if sa, err := syscall.Getsockname(fd); err == nil {
		if a, ok := sa.(*syscall.SockaddrInet4); ok {
			local = net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
		}
	}
	return fmt.Sprintf("keepalive=%d idle=%d intvl=%d cnt=%d user_timeout=%d syncnt=%d local=%s",
		opt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE), opt(fd, syscall.IPPROTO_TCP, tcpKeepidle),
		opt(fd, syscall.IPPROTO_TCP, tcpKeepintvl), opt(fd, syscall.IPPROTO_TCP, tcpKeepcnt),
		opt(fd, syscall.IPPROTO_TCP, tcpUserTimeout), opt(fd, syscall.IPPROTO_TCP, tcpSyncnt), local)
}

func die(format string, a ...interface{}) {
	fmt.Printf(format+"\n", a...)
	os.Exit(1)
}

// dial connects with a net.Dialer and reads the options through the
// connection's raw descriptor.
func dial(d net.Dialer, addr string) {
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		die("connect: %v", err)
	}
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		die("SyscallConn: %v", err)
	}
	raw.Control(func(fd uintptr) { fmt.Println(line(int(fd))) })
	c.Close()
}

// rawConnect: a blocking socket and connect, and nothing else.
func rawConnect(host string, port int) {
	ip := net.ParseIP(host).To4()
	if ip == nil {
		die("%s: not an IPv4 address", host)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		die("socket: %v", err)
	}
	sa := &syscall.SockaddrInet4{Port: port}
	copy(sa.Addr[:], ip)
	if err := syscall.Connect(fd, sa); err != nil {
		die("connect: %v", err)
	}
	fmt.Println(line(fd))
	syscall.Close(fd)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bpf_goclient noka|dialer|raw HOST PORT")
		os.Exit(2)
	}
	mode, host := os.Args[1], os.Args[2]
	port, err := strconv.Atoi(os.Args[3])
	if err != nil {
		die("%s: not a port", os.Args[3])
	}
	addr := net.JoinHostPort(host, os.Args[3])
	switch mode {
	case "noka":
		dial(net.Dialer{KeepAlive: -1}, addr)
	case "dialer":
		dial(net.Dialer{}, addr)
	case "raw":
		rawConnect(host, port)
	default:
		die("%s: unknown mode", mode)
	}
}
