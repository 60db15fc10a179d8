package munge

import (
	"errors"
	"fmt"
	"io"
	"net"
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
func connect(path string) (*net.UnixConn, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, socketErr("Failed to access %q: %s (Did you start munged?)", path, errnoText(err))
	}
	if st.Mode()&os.ModeSocket == 0 {
		return nil, socketErr("Invalid file type for socket %q", path)
	}
	if len(path) >= maxSocketPath {
		return nil, &Error{Status: Overflow, Detail: fmt.Sprintf("Exceeded maximum length of %d bytes for socket pathname", maxSocketPath)}
	}
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	for i := 1; ; i++ {
		conn, err := net.DialUnix("unix", nil, addr)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || i >= connectAttempts {
			return nil, socketErr("Failed to connect to %q: %s", path, errnoText(err))
		}
		time.Sleep(time.Duration(i) * connectBackoff)
	}
}

// exchange sends one request and reads its answer, each within the socket
// timeout.
func exchange(conn *net.UnixConn, typ, retry uint8, body []byte, parse func([]byte) error) error {
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
	hdr := make([]byte, msgHdrSize)
	if err := readFull(conn, hdr, "header"); err != nil {
		return err
	}
	n, err := checkHeader(hdr, typ+1) // each answer's type follows its request's
	if err != nil {
		return err
	}
	rsp := make([]byte, n)
	if err := readFull(conn, rsp, "body"); err != nil {
		return err
	}
	return parse(rsp)
}

func readFull(conn *net.UnixConn, b []byte, what string) error {
	n, err := io.ReadFull(conn, b)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return socketErr("Failed to receive message %s: Timed-out", what)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return socketErr("Received incomplete message %s: %d of %d bytes", what, n, len(b))
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
