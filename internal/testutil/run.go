package testutil

import (
	"bytes"
	"errors"
	"os/exec"
	"testing"
)

// CleanEnv is the environment Run gives a command: a PATH, and
// ACCEL_DATA_CONF=/dev/null so that no configuration file of the host
// is read.
var CleanEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "ACCEL_DATA_CONF=/dev/null"}

// Run runs bin with args in CleanEnv plus env, waits for it, and returns
// its exit status, stdout and stderr. A command that cannot start fails the test.
func Run(t testing.TB, env []string, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append([]string{}, CleanEnv...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("testutil: run %s: %v", bin, err)
	}
	return code, out.String(), errb.String()
}
