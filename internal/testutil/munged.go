package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/accel-data/accel-data/internal/munge"
)

// Munged is a private munged started for a test: its own key, socket, seed
// and log in a temp directory, run in the foreground and stopped by pid.
type Munged struct {
	Dir    string
	Socket string
	Key    string

	t    testing.TB
	logs *syncBuffer
	proc
}

// StartMunged starts a munged with a new key (so two of them are two MUNGE
// realms, a credential of one is invalid at the other). It fails the test,
// saying so, when munged or mungekey is not installed (scripts/deps.sh).
func StartMunged(t testing.TB) *Munged {
	t.Helper()
	m := newMungedDir(t)
	if out, err := exec.Command("mungekey", "-c", "-k", m.Key).CombinedOutput(); err != nil {
		t.Fatalf("mungekey (install munge: scripts/deps.sh): %v\n%s", err, out)
	}
	m.Start()
	return m
}

// StartMungedWithKey starts a second munged sharing other's key, as another
// host of the same cluster would (its own socket, same realm).
func StartMungedWithKey(t testing.TB, other *Munged) *Munged {
	t.Helper()
	m := newMungedDir(t)
	key, err := os.ReadFile(other.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.Key, key, 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start()
	return m
}

func newMungedDir(t testing.TB) *Munged {
	t.Helper()
	// munged refuses to run unless every parent directory is world-executable,
	// and clients of other uids must reach the socket.
	dir, err := os.MkdirTemp("", "munged-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &Munged{Dir: dir, Socket: filepath.Join(dir, "munge.sock"), Key: filepath.Join(dir, "munge.key"), t: t, logs: &syncBuffer{}}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("munged %s log:\n%s", dir, m.logs.String())
		}
		os.RemoveAll(dir)
	})
	return m
}

// Start (re)starts munged and waits until it makes a credential.
func (m *Munged) Start() {
	m.t.Helper()
	_ = os.Remove(m.Socket)
	_ = os.Remove(m.Socket + ".lock")
	m.cmd = exec.Command("munged", "--foreground", "--force",
		"--socket="+m.Socket, "--key-file="+m.Key,
		"--pid-file="+filepath.Join(m.Dir, "munged.pid"),
		"--log-file="+filepath.Join(m.Dir, "munged.log"),
		"--seed-file="+filepath.Join(m.Dir, "munged.seed"))
	m.cmd.Stdout, m.cmd.Stderr = m.logs, m.logs
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start munged (install munge: scripts/deps.sh): %v", err)
	}
	m.waitInBackground()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := munge.Encode(nil, munge.EncodeOptions{Socket: m.Socket})
		if err == nil {
			return
		}
		select {
		case <-m.done:
			m.t.Fatalf("munged exited during start-up: %v\n%s", m.cmd.ProcessState, m.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("munged did not answer within 10s: %v\n%s", err, m.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops munged (SIGTERM to its pid) and waits for it.
func (m *Munged) Stop() { m.stop(10 * time.Second) }

// Pid is munged's process id (0 when not started).
func (m *Munged) Pid() int { return m.pid() }
