package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// readyFdEnv tells a daemonized mount process which file descriptor to
// report readiness on ("OK" or the error), so `mount -d` returns only when
// the mount is up, as `juicefs mount -d` does.
const readyFdEnv = "FAKEJUICEFS_READY_FD"

// cmdFuseMount is `fakejuicefs mount [-d] [--log FILE] VOLUMEDIR MOUNTPOINT`:
// a real FUSE mount of the stand-in volume made by `format VOLUMEDIR`, in
// place of `juicefs mount [-d] META-URL MOUNTPOINT`. Without -d it serves in
// the foreground until unmounted (or SIGTERM/SIGINT); with -d it starts
// itself as a daemon (new session) and returns once the mount is ready. The
// mount process's pid is "Pid" in MOUNTPOINT/.config, as on a real mount.
// Several mounts of one volume share its cache directory and see each
// other's blocks at once (a real client with --cache-scan-interval=-1).
func cmdFuseMount(flags map[string]string, volumeDir, mountpoint string) int {
	if err := checkFlags(flags, "d", "background", "log", "cache-scan-interval"); err != nil {
		fatalf("main", "main.go", 31, "%s", err)
	}
	if v, ok := flags["cache-scan-interval"]; ok && v != "-1" && v != "-1s" {
		fatalf("mount", "mount.go", 560, "the stand-in always looks at the cache dir on every read (--cache-scan-interval=-1); %q is not supported", v)
	}
	backing, err := filepath.Abs(volumeDir)
	if err == nil {
		mountpoint, err = filepath.Abs(mountpoint)
	}
	if err != nil {
		fatalf("mount", "mount.go", 562, "abs: %s", err)
	}
	vol, err := openVolume(backing)
	if err != nil {
		fatalf("mount", "mount.go", 566, "%s is not a stand-in volume (run `fakejuicefs format %s --cache-dir DIR` first): %s", backing, backing, err)
	}
	if err := os.MkdirAll(mountpoint, 0o755); err != nil {
		fatalf("mount", "mount.go", 569, "create mount point %s: %s", mountpoint, err)
	}
	logPath := flags["log"]
	if logPath == "" {
		logPath = filepath.Join(backing, stateDir, "mount.log")
	}
	if flags["d"] == "true" || flags["background"] == "true" {
		return daemonize(vol, mountpoint, logPath)
	}
	return serve(vol, mountpoint)
}

// daemonize starts the mount process in the background and waits until it
// reports the mount ready.
func daemonize(vol *volume, mountpoint, logPath string) int {
	self, err := os.Executable()
	if err != nil {
		fatalf("mount", "mount.go", 580, "%s", err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fatalf("mount", "mount.go", 584, "open log %s: %s", logPath, err)
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		fatalf("mount", "mount.go", 588, "%s", err)
	}
	cmd := exec.Command(self, "mount", vol.mount, mountpoint)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(os.Environ(), readyFdEnv+"=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fatalf("mount", "mount.go", 594, "start the mount process: %s", err)
	}
	w.Close()
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	// A mount that is not up in a minute will not come up: stop waiting.
	_ = r.SetReadDeadline(time.Now().Add(time.Minute))
	msg, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		msg = "the mount process did not report the mount ready within a minute; see " + logPath
	}
	if msg = strings.TrimSpace(msg); msg != "OK" {
		if msg == "" {
			msg = "the mount process exited; see " + logPath
		}
		fatalf("mount", "mount.go", 603, "mount %s at %s: %s", vol.set.Name, mountpoint, msg)
	}
	infof("mount", "mount_unix.go", 216, "OK, %s is ready at %s (stand-in mount process %d)", vol.set.Name, mountpoint, pid)
	return 0
}

// serve mounts and serves until the mount goes away.
func serve(vol *volume, mountpoint string) int {
	ready := func(msg string) {}
	if fd := os.Getenv(readyFdEnv); fd != "" {
		n, _ := strconv.Atoi(fd)
		f := os.NewFile(uintptr(n), "ready")
		ready = func(msg string) { fmt.Fprintln(f, msg); f.Close() }
		os.Unsetenv(readyFdEnv)
	}
	// A new mount process has written nothing yet (see metaState.Mount)
	// and counted nothing.
	if err := vol.withMeta(func(m *metaState) error {
		m.forgetMount(mountpoint, true)
		return nil
	}); err != nil {
		ready(err.Error())
		fatalf("mount", "mount.go", 616, "%s", err)
	}
	s := newStandin(vol, mountpoint)
	var err error
	if s.failFrac, err = failFraction(); err != nil {
		ready(err.Error())
		fatalf("mount", "mount.go", 618, "%s", err)
	}
	root, err := s.root()
	if err != nil {
		ready(err.Error())
		fatalf("mount", "mount.go", 620, "%s", err)
	}
	sec := time.Second
	server, err := fs.Mount(mountpoint, root, &fs.Options{
		EntryTimeout: &sec, AttrTimeout: &sec,
		MountOptions: fuse.MountOptions{
			AllowOther: os.Geteuid() == 0, FsName: "JuiceFS:" + vol.set.Name, Name: "juicefs",
			DirectMount: true, MaxReadAhead: 1 << 20,
			// The kernel checks permissions against the caller, as on a real
			// mount (its .config FuseOpts.Options); files a user creates are
			// theirs (the loopback chowns them when it runs as root).
			Options: []string{"default_permissions"},
		},
	})
	if err != nil {
		msg := fmt.Sprintf("fuse mount %s: %s (needs /dev/fuse and root, or fusermount3 from Debian's fuse3)", mountpoint, err)
		ready(msg)
		fatalf("mount", "mount.go", 632, "%s", msg)
	}
	// A signal ends the mount process: unmount (lazily: a busy mount goes
	// when its last user leaves) and exit, which also ends the FUSE
	// connection where copies of the mount live on in mount namespaces
	// created while it was mounted (they then fail with ENOTCONN).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		s := <-sig
		_ = syscall.Unmount(mountpoint, syscall.MNT_DETACH)
		infof("mount", "mount_unix.go", 230, "%s: unmounted %s, mount process %d exits", s, mountpoint, os.Getpid())
		os.Exit(0)
	}()
	infof("mount", "mount_unix.go", 216, "stand-in mount process %d serves %s at %s (backing %s)", os.Getpid(), vol.set.Name, mountpoint, vol.mount)
	ready("OK")
	server.Wait()
	infof("mount", "mount_unix.go", 240, "%s unmounted, mount process %d exits", mountpoint, os.Getpid())
	return 0
}

// cmdUmount is `fakejuicefs umount [--force] MOUNTPOINT`: unmounts a FUSE
// mount of the stand-in and waits until its mount process has exited.
func cmdUmount(args []string) int {
	flags, pos, err := splitArgs(args, nil)
	if err == nil {
		err = checkFlags(flags, "f", "force", "flush")
	}
	if err != nil || len(pos) != 1 {
		fatalf("main", "main.go", 31, "usage: fakejuicefs umount [--force] MOUNTPOINT")
	}
	mnt, err := filepath.Abs(pos[0])
	if err != nil {
		fatalf("umount", "umount.go", 40, "%s", err)
	}
	pid := mountPid(mnt)
	how := 0
	if flags["f"] == "true" || flags["force"] == "true" {
		how = syscall.MNT_FORCE | syscall.MNT_DETACH
	}
	if err := syscall.Unmount(mnt, how); err != nil {
		if errors.Is(err, syscall.EPERM) {
			if out, err2 := exec.Command("fusermount3", "-u", mnt).CombinedOutput(); err2 == nil {
				err = nil
			} else {
				err = fmt.Errorf("%w; fusermount3 -u: %v %s", err, err2, out)
			}
		}
		if err != nil {
			fatalf("umount", "umount.go", 52, "umount %s: %s", mnt, err)
		}
	}
	if pid > 0 && !exited(pid, 2*time.Second) {
		// The FUSE connection outlives the unmount while a mount namespace
		// made during the mount holds a copy of it: end the mount process.
		_ = syscall.Kill(pid, syscall.SIGTERM)
		if !exited(pid, 10*time.Second) {
			warnf("umount", "umount.go", 60, "mount process %d of %s still runs 10 s after SIGTERM", pid, mnt)
			return 1
		}
	}
	return 0
}

// exited waits up to d for pid to exit.
func exited(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// mountPid reads the mount process's pid from MOUNTPOINT/.config (0 when
// unknown).
func mountPid(mnt string) int {
	data, err := os.ReadFile(filepath.Join(mnt, ".config"))
	if err != nil {
		return 0
	}
	var c struct{ Pid int }
	if json.Unmarshal(data, &c) != nil || c.Pid == os.Getpid() {
		return 0
	}
	return c.Pid
}

// alive reports whether pid runs (a zombie has exited).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}
