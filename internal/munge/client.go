package munge

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// libmunge's client timing (MUNGE 0.5.x, src/libcommon/munge_defs.h and
// src/libmunge/m_msg_client.c), checked against 0.5.15 with strace.
const (
	// A refused connection (munged's backlog full, or a stale socket
	// file) is tried this many times, sleeping i×50 ms after the i-th.
	connectAttempts = 10
	connectBackoff  = 50 * time.Millisecond
	// A transaction that fails on the socket after connecting is sent
	// again this many times in all, sleeping i×10 ms after the i-th, with
	// the retry count in the header.
	retryAttempts = 5
	retryBackoff  = 10 * time.Millisecond
)

// socketTimeout bounds sending a request, and receiving its answer
// (MUNGE_SOCKET_TIMEOUT_MSECS). A variable only for tests.
var socketTimeout = 2000 * time.Millisecond

// maxSocketPath is the longest socket path a sockaddr_un holds, with its NUL.
const maxSocketPath = 108

// xfer sends a request body of type typ to munged at socket and hands the
// answer's body to parse, retrying as libmunge does.
func xfer(socket string, typ uint8, body []byte, parse func([]byte) error) error {
	if socket == "" {
		socket = DefaultSocket
	}
	if len(body) > maxReqLen {
		return &Error{Status: BadLength, Detail: fmt.Sprintf("Failed to send message: length of %d exceeds max of %d", len(body), maxReqLen)}
	}
	for i := 1; ; i++ {
		conn, err := connect(socket)
		if err != nil {
			return err // libmunge does not retry a failed connect
		}
		err = exchange(conn, typ, uint8(i-1), body, parse)
		conn.Close()
		var me *Error
		if err == nil || i >= retryAttempts || (errors.As(err, &me) && me.Status == BadLength) {
			return err
		}
		time.Sleep(time.Duration(i) * retryBackoff)
	}
}

// connect opens the socket as libmunge does, with its wording on failure.
// The socket is registered with Go's netpoller (os.NewFile of a
// non-blocking socket), so waiting for munged parks only the goroutine; it
// is not a net.UnixConn, whose set-up asks the kernel for both addresses.
func connect(path string) (*os.File, error) {
	if len(path) >= maxSocketPath {
		if err := statSocket(path); err != nil {
			return nil, err
		}
		return nil, &Error{Status: Overflow, Detail: fmt.Sprintf("Exceeded maximum length of %d bytes for socket pathname", maxSocketPath)}
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, socketErr("Failed to create socket: %s", errnoText(err))
	}
	addr := &syscall.SockaddrUnix{Name: path}
	start := time.Now()
	for i := 1; ; i++ {
		err = syscall.Connect(fd, addr)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err == syscall.EINTR {
			continue
		}
		// munged's listen backlog is full (a burst of requests): where
		// libmunge's blocking connect waits for room, this non-blocking
		// one is told EAGAIN. Wait the same way, within the socket timeout.
		if err == syscall.EAGAIN && time.Since(start) < socketTimeout {
			i--
			time.Sleep(time.Millisecond)
			continue
		}
		if i == 1 {
			// libmunge stats the path before connecting; here only
			// when connecting fails, for the same messages.
			if err := statSocket(path); err != nil {
				syscall.Close(fd)
				return nil, err
			}
		}
		if err != syscall.ECONNREFUSED || i >= connectAttempts {
			syscall.Close(fd)
			return nil, socketErr("Failed to connect to %q: %s", path, errnoText(err))
		}
		time.Sleep(time.Duration(i) * connectBackoff)
	}
}

// statSocket says, in libmunge's words, why path is not a socket.
func statSocket(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return socketErr("Failed to access %q: %s (Did you start munged?)", path, errnoText(err))
	}
	if st.Mode()&os.ModeSocket == 0 {
		return socketErr("Invalid file type for socket %q", path)
	}
	return nil
}

// exchange sends one request and reads its answer, each within the socket
// timeout.
func exchange(conn *os.File, typ, retry uint8, body []byte, parse func([]byte) error) error {
	msg := append(packHeader(typ, retry, len(body)), body...)
	if err := conn.SetWriteDeadline(time.Now().Add(socketTimeout)); err != nil {
		return socketErr("Failed to send message: %s", errnoText(err))
	}
	if _, err := conn.Write(msg); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return socketErr("Failed to send message: Timed-out")
		}
		return socketErr("Failed to send message: %s", errnoText(err))
	}
	if err := conn.SetReadDeadline(time.Now().Add(socketTimeout)); err != nil {
		return socketErr("Failed to receive message header: %s", errnoText(err))
	}
	// munged writes header and body at once: one read usually takes both.
	buf := make([]byte, 512)
	got, err := io.ReadAtLeast(conn, buf, msgHdrSize)
	if err != nil {
		return readErr(err, "header", got, msgHdrSize)
	}
	n, err := checkHeader(buf[:msgHdrSize], typ+1) // each answer's type follows its request's
	if err != nil {
		return err
	}
	rsp := buf[msgHdrSize:got]
	if len(rsp) > n {
		rsp = rsp[:n] // munged sends nothing after it
	} else if len(rsp) < n {
		rsp = append(make([]byte, 0, n), rsp...)
		m, err := io.ReadFull(conn, rsp[len(rsp):n])
		if err != nil {
			return readErr(err, "body", len(rsp)+m, n)
		}
		rsp = rsp[:n]
	}
	return parse(rsp)
}

// readErr words a failed read of a message's header or body as libmunge
// does: got of want bytes had come.
func readErr(err error, what string, got, want int) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return socketErr("Failed to receive message %s: Timed-out", what)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return socketErr("Received incomplete message %s: %d of %d bytes", what, got, want)
	default:
		return socketErr("Failed to receive message %s: %s", what, errnoText(err))
	}
}

// errnoText is strerror's wording of err's errno ("Connection refused"),
// or err itself when it has none.
func errnoText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
