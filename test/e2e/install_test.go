package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// scripts/install.sh puts binaries, the plugin, the man pages, the docs and
// the contrib files in FHS places.
func TestInstall(t *testing.T) {
	dest := t.TempDir()
	for _, prefix := range []string{"/usr", "/opt/accel"} {
		cmd := exec.Command(filepath.Join(cl.repo, "scripts", "install.sh"), dest, prefix)
		cmd.Env = append(os.Environ(), "BIN="+cl.bin)
		out, err := cmd.CombinedOutput()
		// cl.bin holds slurm-prolog and the plugin, not warmupd: install must say what is missing.
		require.Error(t, err)
		require.Contains(t, string(out), "warmupd is missing: run 'make build' first")

		// With every binary present (empty stand-ins are enough to check the layout).
		bin := t.TempDir()
		for _, b := range []string{"warmupd", "slurm-prolog", "swarmup", "jfs-dedup", "accel-agent"} {
			require.NoError(t, os.WriteFile(filepath.Join(bin, b), []byte("#!/bin/sh\n"), 0o755))
		}
		data, err := os.ReadFile(filepath.Join(cl.bin, "accel_data.so"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bin, "accel_data.so"), data, 0o644))
		cmd = exec.Command(filepath.Join(cl.repo, "scripts", "install.sh"), dest, prefix)
		cmd.Env = append(os.Environ(), "BIN="+bin)
		out, err = cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)

		plugdir := prefix + "/lib/slurm"
		if prefix == "/usr" {
			plugdir = "/usr/lib/x86_64-linux-gnu/slurm-wlm"
			require.FileExists(t, filepath.Join(dest, "usr/lib/systemd/system/warmupd.service"))
			require.FileExists(t, filepath.Join(dest, "usr/lib/systemd/system/accel-agent.service"))
		}
		for _, f := range []string{
			prefix + "/sbin/warmupd", prefix + "/sbin/slurm-prolog", prefix + "/bin/swarmup", prefix + "/bin/jfs-dedup",
			plugdir + "/accel_data.so",
			prefix + "/share/accel-data/plugstack.conf", prefix + "/share/accel-data/slurm.conf",
			prefix + "/share/accel-data/accel-data.conf", prefix + "/share/accel-data/warmupd.service",
			prefix + "/share/accel-data/job_submit.lua", prefix + "/share/accel-data/README.md",
			prefix + "/share/accel-data/burst_buffer.lua", prefix + "/share/accel-data/burst_buffer.conf",
			prefix + "/share/accel-data/doc/admin/config.md", prefix + "/share/accel-data/doc/users.md",
			prefix + "/share/man/man1/swarmup.1", prefix + "/share/man/man1/swarmup-warm.1",
			prefix + "/share/man/man1/jfs-dedup.1", prefix + "/share/man/man8/warmupd.8",
			prefix + "/share/man/man8/slurm-prolog.8",
			prefix + "/sbin/accel-agent", prefix + "/share/accel-data/accel-agent.service", prefix + "/share/accel-data/doc/agent.md",
		} {
			require.FileExists(t, filepath.Join(dest, f))
		}
		unit := readFile(filepath.Join(dest, prefix, "share/accel-data/warmupd.service"))
		require.Contains(t, unit, "ExecStart="+prefix+"/sbin/warmupd")
		require.NotContains(t, unit, "@PREFIX@")
		require.Contains(t, readFile(filepath.Join(dest, prefix, "share/accel-data/accel-agent.service")), "ExecStart="+prefix+"/sbin/accel-agent")
		require.Contains(t, readFile(filepath.Join(dest, prefix, "share/accel-data/plugstack.conf")), "required "+plugdir+"/accel_data.so ")
		require.Contains(t, readFile(filepath.Join(dest, prefix, "share/accel-data/slurm.conf")), "Prolog="+prefix+"/sbin/slurm-prolog")
		require.Contains(t, readFile(filepath.Join(dest, prefix, "share/accel-data/burst_buffer.lua")), `local SLURM_PROLOG = "`+prefix+`/sbin/slurm-prolog"`)
		st, err := os.Stat(filepath.Join(dest, prefix, "sbin/slurm-prolog"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	}
}
