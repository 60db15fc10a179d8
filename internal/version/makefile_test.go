package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The Makefile's -X names this package's Version: a binary linked with that
// flag prints the stamped version.
func TestMakefileStampsVersion(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`-X (\S+)=\$\(VERSION\)`).FindSubmatch(mk)
	require.NotNil(t, m, "the Makefile must stamp the version with -X <symbol>=$(VERSION)")
	bin := filepath.Join(t.TempDir(), "printversion")
	out, err := exec.Command("go", "build", "-ldflags", "-X "+string(m[1])+"=v0.0.0-stamp-test",
		"-o", bin, "./testdata/printversion").CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command(bin).Output()
	require.NoError(t, err)
	require.Regexp(t, `^printversion v0\.0\.0-stamp-test \(go`, string(out))
}
