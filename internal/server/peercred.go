package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Caller is who is on the other end: on the unix socket from SO_PEERCRED,
// over TCP from the request's MUNGE credential (never from the body).
type Caller struct {
	PID  int32
	UID  uint32
	GID  uint32
	Gids []uint32 // primary + supplementary groups: /proc/PID/status (unix), NSS (TCP)
}

// Root reports whether the caller is uid 0.
func (c Caller) Root() bool { return c.UID == 0 }

type callerKey struct{}

// connContext stores the peer's credentials in the connection's context.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return context.WithValue(ctx, tcpDoorKey{}, true) // identified per request (tcp.go)
	}
	cl, err := peerCred(uc)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, callerKey{}, cl)
}

// callerFrom returns the caller stored by connContext.
func callerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

func peerCred(c *net.UnixConn) (Caller, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Caller{}, err
	}
	var uc *unix.Ucred
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		uc, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Caller{}, err
	}
	if gerr != nil {
		return Caller{}, fmt.Errorf("SO_PEERCRED: %w", gerr)
	}
	cl := Caller{PID: uc.Pid, UID: uc.Uid, GID: uc.Gid, Gids: []uint32{uc.Gid}}
	cl.Gids = append(cl.Gids, supplementaryGroups(uc.Pid)...)
	return cl, nil
}

// supplementaryGroups reads the Groups: line of /proc/PID/status.
func supplementaryGroups(pid int32) []uint32 {
	f, err := os.Open("/proc/" + strconv.Itoa(int(pid)) + "/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Groups:") {
			continue
		}
		var out []uint32
		for _, g := range strings.Fields(strings.TrimPrefix(line, "Groups:")) {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				out = append(out, uint32(n))
			}
		}
		return out
	}
	return nil
}
