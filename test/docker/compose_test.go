// Package docker_test checks the containerised cluster of docker/slurm-cluster:
// without a Docker engine, that the compose files, the Dockerfile and the role
// scripts fit together and with the namespace cluster's layout
// (test/slurm-cluster); with one, that the cluster comes up and a job with
// --accel-data runs after its data was warmed (cluster_test.go).
package docker_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/accel-data/accel-data/internal/testutil"
)

// clusterDir is where the compose files, the Dockerfile and the role scripts live.
const clusterDir = "docker/slurm-cluster"

// imageRepo is where the Dockerfile puts the repository's files in the image.
const imageRepo = "/opt/accel-data/"

// The services that are not hosts: they make the MUNGE key and the JuiceFS volume, then exit.
var oneShots = []string{"munge-key", "volume"}

type compose struct {
	Services map[string]service `yaml:"services"`
	Networks map[string]struct {
		Ipam struct {
			Config []struct {
				Subnet string `yaml:"subnet"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
	Volumes map[string]any `yaml:"volumes"`
}

type service struct {
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Image       string            `yaml:"image"`
	Hostname    string            `yaml:"hostname"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	NetworkMode string            `yaml:"network_mode"`
	Privileged  bool              `yaml:"privileged"`
	Networks    map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	} `yaml:"networks"`
	Volumes   []string `yaml:"volumes"`
	Devices   []string `yaml:"devices"`
	CapAdd    []string `yaml:"cap_add"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T, name string) compose {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), clusterDir, name))
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(b, &c), "%s is not valid YAML", name)
	require.NotEmpty(t, c.Services, "%s has no services", name)
	return c
}

// mounts returns the container paths a service mounts, by volume or host path.
func (s service) mounts() map[string]string {
	m := map[string]string{}
	for _, v := range s.Volumes {
		src := ""
		if strings.HasPrefix(v, "${") { // a variable, which may hold ':' (${JUICEFS:?message})
			end := strings.Index(v, "}")
			src, v = v[:end+1], v[end+1:]
		}
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			m[parts[1]] = src + parts[0]
		}
	}
	return m
}

// computeHosts is COMPUTE_HOSTS, which every service must agree on.
func computeHosts(t *testing.T, c compose) int {
	t.Helper()
	var n string
	for name, s := range c.Services {
		require.NotEmpty(t, s.Environment["COMPUTE_HOSTS"], "service %s has no COMPUTE_HOSTS", name)
		if n == "" {
			n = s.Environment["COMPUTE_HOSTS"]
		}
		require.Equal(t, n, s.Environment["COMPUTE_HOSTS"], "service %s: every host must write the same slurm.conf", name)
	}
	v, err := strconv.Atoi(n)
	require.NoError(t, err)
	return v
}

// libSh runs a function of test/slurm-cluster/lib.sh, the namespace cluster's
// own definitions.
func libSh(t *testing.T, fn string, args ...string) string {
	t.Helper()
	root := testutil.RepoRoot(t)
	cmd := exec.Command("bash", append([]string{"-c", `here=$1/test/slurm-cluster me=compose_test; shift; . "$here/lib.sh"; "$@"`, "lib", root, fn}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "lib.sh %s %v: %s", fn, args, out)
	return strings.TrimSpace(string(out))
}

// The services are the hosts of the namespace cluster (ctl, svc, login,
// c1..cN) plus the two one-shots, each host with its name as hostname and
// the address host_addr gives it in test/slurm-cluster/lib.sh, on one network.
func TestComposeServicesAreTheClusterHosts(t *testing.T) {
	c := loadCompose(t, "docker-compose.yml")
	n := computeHosts(t, c)
	want := append([]string{"ctl", "svc", "login"}, oneShots...)
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("c%d", i))
	}
	var got []string
	for name := range c.Services {
		got = append(got, name)
	}
	require.ElementsMatch(t, want, got, "services of docker-compose.yml (COMPUTE_HOSTS=%d)", n)

	require.Len(t, c.Networks, 1, "one network for every host")
	var subnet netip.Prefix
	for _, nw := range c.Networks {
		require.Len(t, nw.Ipam.Config, 1)
		var err error
		subnet, err = netip.ParsePrefix(nw.Ipam.Config[0].Subnet)
		require.NoError(t, err)
	}
	for name, s := range c.Services {
		if slices.Contains(oneShots, name) {
			require.Equal(t, "none", s.NetworkMode, "one-shot %s needs no network", name)
			continue
		}
		require.Equal(t, name, s.Hostname, "service %s: slurm.conf names the host by its hostname", name)
		require.Len(t, s.Networks, 1, "service %s", name)
		for nw, a := range s.Networks {
			require.Contains(t, c.Networks, nw, "service %s", name)
			require.Equal(t, libSh(t, "host_addr", name), a.IPv4, "service %s: the address host_addr gives it (slurm.conf's NodeAddr, plugstack's server=)", name)
			addr, err := netip.ParseAddr(a.IPv4)
			require.NoError(t, err)
			require.True(t, subnet.Contains(addr), "service %s: %s is outside %s", name, addr, subnet)
		}
	}
}

// Every service runs the one image built from the repository with the
// Dockerfile next to the compose file, and its command is a role script of
// docker/slurm-cluster that exists and is executable; every role script is
// some service's command.
func TestComposeBuildsOneImageAndRunsTheRoleScripts(t *testing.T) {
	root := testutil.RepoRoot(t)
	dir := filepath.Join(root, clusterDir)
	c := loadCompose(t, "docker-compose.yml")
	images := map[string]bool{}
	used := map[string]bool{}
	for name, s := range c.Services {
		require.NotNil(t, s.Build, "service %s has no build:", name)
		ctx := filepath.Clean(filepath.Join(dir, s.Build.Context))
		require.Equal(t, root, ctx, "service %s: the build context is the repository", name)
		require.FileExists(t, filepath.Join(ctx, s.Build.Dockerfile), "service %s", name)
		require.Equal(t, filepath.Join(dir, "Dockerfile"), filepath.Join(ctx, s.Build.Dockerfile), "service %s", name)
		images[s.Image] = true

		require.Len(t, s.Command, 1, "service %s: its command is one role script", name)
		script := s.Command[0]
		require.True(t, strings.HasPrefix(script, imageRepo+clusterDir+"/"), "service %s: %s is not a script of %s in the image", name, script, clusterDir)
		requireExecutable(t, filepath.Join(root, strings.TrimPrefix(script, imageRepo)))
		used[filepath.Base(script)] = true
	}
	require.Len(t, images, 1, "every service runs the same image: %v", images)

	scripts, err := filepath.Glob(filepath.Join(dir, "*.sh"))
	require.NoError(t, err)
	for _, s := range scripts {
		switch b := filepath.Base(s); b {
		case "common.sh": // sourced by the others
		case "demo.sh": // run on login by hand and by TestClusterRunsAWarmedJob
			requireExecutable(t, s)
		default:
			require.True(t, used[b], "%s is no service's command", b)
		}
	}
}

func requireExecutable(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.NotZero(t, fi.Mode().Perm()&0o111, "%s is not executable (chmod +x)", path)
}

// The hosts share what the namespace cluster shares: the MUNGE key on every
// host, the JuiceFS volume and its cache on the hosts that mount it (svc,
// login, compute), the job directory on login and the compute hosts.
func TestComposeSharesTheVolumes(t *testing.T) {
	c := loadCompose(t, "docker-compose.yml")
	mounting := func(name string) bool {
		return name == "svc" || name == "login" || regexp.MustCompile(`^c[0-9]+$`).MatchString(name)
	}
	for name, s := range c.Services {
		m := s.mounts()
		for _, vol := range m {
			require.Contains(t, c.Volumes, vol, "service %s mounts an undeclared volume", name)
		}
		if name != "volume" {
			require.Equal(t, "munge", m["/accel/munge"], "service %s: the cluster's MUNGE key", name)
		}
		if mounting(name) || name == "volume" {
			require.Equal(t, "jfs", m["/accel/jfs"], "service %s: the JuiceFS volume", name)
			require.Equal(t, "cache", m["/accel/cache"], "service %s: the shared JuiceFS cache", name)
			require.Equal(t, "juicefs-meta", m["/accel/volume"], "service %s: a real client's metadata and storage", name)
		}
		if mounting(name) && name != "svc" {
			require.Equal(t, "shared", m["/accel/shared"], "service %s: job scripts and output", name)
		}
		if !slices.Contains(oneShots, name) {
			require.Equal(t, "log", m["/accel/log"], "service %s: its logs", name)
			for _, one := range oneShots {
				if name != "ctl" || one == "munge-key" {
					require.Contains(t, s.DependsOn, one, "service %s starts after %s", name, one)
				}
			}
		}
	}
	require.NotNil(t, c.Services["login"].Healthcheck, "login says when the cluster is ready")
}

// docker-compose.juicefs.yml gives every service that formats or mounts the
// volume the user's juicefs binary at the path common.sh looks for, and FUSE.
func TestComposeJuiceFSOverrideMountsARealClient(t *testing.T) {
	root := testutil.RepoRoot(t)
	base := loadCompose(t, "docker-compose.yml")
	over := loadCompose(t, "docker-compose.juicefs.yml")
	common, err := os.ReadFile(filepath.Join(root, clusterDir, "common.sh"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^REAL_JUICEFS=(\S+)$`).FindSubmatch(common)
	require.NotNil(t, m, "common.sh sets REAL_JUICEFS")
	real := string(m[1])

	var want, got []string
	for name, s := range base.Services {
		if _, ok := s.mounts()["/accel/jfs"]; ok {
			want = append(want, name)
		}
	}
	for name, s := range over.Services {
		require.Contains(t, base.Services, name, "the override names a service docker-compose.yml does not have")
		got = append(got, name)
		src, ok := s.mounts()[real]
		require.True(t, ok, "service %s: the juicefs binary at %s", name, real)
		require.Contains(t, src, "${JUICEFS", "service %s: the binary is the user's $JUICEFS", name)
		require.Contains(t, s.Devices, "/dev/fuse", "service %s", name)
		require.Contains(t, s.CapAdd, "SYS_ADMIN", "service %s", name)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got, "every service with the volume gets the real client")
}
