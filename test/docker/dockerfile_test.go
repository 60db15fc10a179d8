package docker_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// The images the Dockerfile may start from: the official Go image on Debian 12
// for the build stage (go.mod needs Go 1.26; Debian 12 ships 1.19) and Debian
// 12 itself for the hosts.
var allowedFrom = []string{"golang:GO-bookworm AS build", "debian:bookworm"}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	op, args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open(filepath.Join(testutil.RepoRoot(t), clusterDir, "Dockerfile"))
	require.NoError(t, err)
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(op), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	return out
}

// goVersion is go.mod's go directive as MAJOR.MINOR (the golang image tag).
func goVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	require.NotNil(t, m, "go.mod has no go directive")
	return string(m[1])
}

// The image is built only from Debian packages and this repository: the two
// allowed bases, packages by apt-get alone (each one Debian 12 has, when this
// machine can ask apt), files only from the repository or the build stage,
// nothing downloaded by hand.
func TestDockerfileUsesOnlyDebianAndTheRepository(t *testing.T) {
	root := testutil.RepoRoot(t)
	want := []string{strings.Replace(allowedFrom[0], "GO", goVersion(t), 1), allowedFrom[1]}
	var from, pkgs []string
	download := regexp.MustCompile(`\b(curl|wget|git clone|go install|go get|pip3?|npm|https?://)`)
	install := regexp.MustCompile(`apt-get install((?: -\S+)*)((?: [a-z0-9][a-z0-9.+-]+)+)`)
	for _, in := range readDockerfile(t) {
		switch in.op {
		case "FROM":
			from = append(from, in.args)
		case "ADD":
			t.Errorf("ADD %s: use COPY from the repository (ADD fetches URLs and unpacks archives)", in.args)
		case "RUN":
			require.NotRegexp(t, download, in.args, "RUN downloads something: only apt-get and the Go module proxy (go mod download) may fetch")
			for _, m := range install.FindAllStringSubmatch(in.args, -1) {
				pkgs = append(pkgs, strings.Fields(m[2])...)
			}
			if strings.Contains(in.args, "apt-get install") {
				require.Contains(t, in.args, "--no-install-recommends", "RUN %s", in.args)
			}
		case "COPY":
			fields := strings.Fields(in.args)
			if strings.HasPrefix(fields[0], "--from=") {
				require.Equal(t, "--from=build", fields[0], "COPY only from the build stage")
				continue
			}
			for _, src := range fields[:len(fields)-1] {
				if src == "." {
					continue
				}
				m, err := filepath.Glob(filepath.Join(root, src))
				require.NoError(t, err)
				require.NotEmpty(t, m, "COPY %s: not in the repository", src)
			}
		}
	}
	require.Equal(t, want, from, "FROM lines")
	require.Subset(t, pkgs, []string{"libmunge-dev", "libslurm-dev", "slurm-wlm", "munge"})

	if _, err := exec.LookPath("apt-cache"); err != nil {
		t.Logf("apt-cache not installed: the package names %v are not checked against Debian's archive", pkgs)
		return
	}
	osr, _ := os.ReadFile("/etc/os-release")
	if !strings.Contains(string(osr), "VERSION_CODENAME=bookworm") {
		t.Logf("not Debian 12: the package names %v are not checked against Debian 12's archive", pkgs)
		return
	}
	for _, p := range pkgs {
		out, err := exec.Command("apt-cache", "show", "--no-all-versions", p).CombinedOutput()
		require.NoError(t, err, "%s is not a Debian 12 package: %s", p, out)
		require.Contains(t, string(out), "Package: "+p, "%s is not a Debian 12 package", p)
	}
}

// The role scripts and rehearse.sh pass shellcheck (following what they
// source: common.sh and test/slurm-cluster/lib.sh).
func TestRoleScriptsPassShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed (apt-get install shellcheck): the role scripts are not linted")
	}
	scripts, err := filepath.Glob(filepath.Join(testutil.RepoRoot(t), clusterDir, "*.sh"))
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	scripts = append(scripts, filepath.Join(testutil.RepoRoot(t), "test", "docker", "rehearse.sh"))
	out, err := exec.Command(sc, append([]string{"-x", "-P", "SCRIPTDIR"}, scripts...)...).CombinedOutput()
	require.NoError(t, err, "shellcheck:\n%s", out)
}
