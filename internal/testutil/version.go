package testutil

import (
	"bytes"
	"os/exec"
	"regexp"
	"testing"
)

var versionLine = regexp.MustCompile(`^(\S+) (\S+) \(go[0-9][^)]*\)\n$`)

// RequireVersion runs `bin --version` with an empty environment and fails
// the test unless it exits 0 printing exactly one line "<prog> <version>
// (go…)" on stdout and nothing on stderr. It returns the version.
func RequireVersion(t testing.TB, bin, prog string) string {
	t.Helper()
	cmd := exec.Command(bin, "--version")
	cmd.Env = []string{}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --version: %v\nstdout: %s\nstderr: %s", prog, err, out.String(), errOut.String())
	}
	m := versionLine.FindStringSubmatch(out.String())
	if m == nil || m[1] != prog || errOut.Len() != 0 {
		t.Fatalf("%s --version printed %q (stderr %q), want one line %q", prog, out.String(), errOut.String(), prog+" <version> (go…)")
	}
	return m[2]
}
