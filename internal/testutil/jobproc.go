package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// JobProcess starts a process of Slurm job id (SLURM_JOB_ID in its
// environment, as slurmstepd sets it) that stays until the test ends, and
// returns once /proc/PID/environ shows the job. exec.Cmd.Start returns as
// soon as execve closed the parent's pipe, which is before the kernel sets
// the new program's environment: read in that window, environ is empty (the
// kernel answers nothing while env_end is 0), and an access-log line fed
// at once would find no job (measured: 814 of 2 000 reads right after
// Start came back empty on this machine).
func JobProcess(t testing.TB, id uint64) *exec.Cmd {
	t.Helper()
	c := exec.Command("sleep", "600")
	want := fmt.Sprintf("SLURM_JOB_ID=%d", id)
	c.Env = []string{"PATH=/usr/bin:/bin", want}
	require.NoError(t, c.Start())
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	environ := fmt.Sprintf("/proc/%d/environ", c.Process.Pid)
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(environ)
		return err == nil && strings.Contains(string(b), want+"\x00")
	}, 10*time.Second, time.Millisecond, "%s never showed %s", environ, want)
	return c
}
