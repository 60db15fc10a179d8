package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

func newFlags() (*pflag.FlagSet, *string, *time.Duration, *int) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	s := fs.String("socket", "/run/x.sock", "")
	d := fs.Duration("prolog-wait", time.Minute, "")
	n := fs.Int("max-paths", 64, "")
	fs.String("config", "", "")
	return fs, s, d, n
}

func TestApplyFileAndFlagPrecedence(t *testing.T) {
	fs, s, d, n := newFlags()
	require.NoError(t, fs.Parse([]string{"--max-paths=7"}))
	es, err := Parse(strings.NewReader("# comment\n\nSocket=/tmp/w.sock\nPrologWait = 90s\nmax_paths=100\n"), "f")
	require.NoError(t, err)
	require.NoError(t, Apply(fs, es, "f", "config"))
	require.Equal(t, "/tmp/w.sock", *s)
	require.Equal(t, 90*time.Second, *d)
	require.Equal(t, 7, *n, "command line wins over the file")
}

func TestUnknownKeyAndBadLine(t *testing.T) {
	fs, _, _, _ := newFlags()
	es, err := Parse(strings.NewReader("Sockett=/x\n"), "f")
	require.NoError(t, err)
	err = Apply(fs, es, "f")
	require.ErrorContains(t, err, `unknown key "Sockett"`)

	_, err = Parse(strings.NewReader("Socket /x\n"), "f")
	require.ErrorContains(t, err, "f:1: expected Key=Value")

	es, _ = Parse(strings.NewReader("Config=/etc/other\n"), "f")
	require.ErrorContains(t, Apply(fs, es, "f", "config"), "unknown key")

	es, _ = Parse(strings.NewReader("Database=/var/lib/x.db\n"), "f")
	require.NoError(t, Apply(fs, es, "f"), "a key of another tool is skipped")

	es, _ = Parse(strings.NewReader("PrologWait=soon\n"), "f")
	require.ErrorContains(t, Apply(fs, es, "f"), "bad value for PrologWait")
}

func TestLoadOptional(t *testing.T) {
	fs, s, _, _ := newFlags()
	require.NoError(t, Load(fs, filepath.Join(t.TempDir(), "missing.conf"), true))
	require.Equal(t, "/run/x.sock", *s)
	require.Error(t, Load(fs, filepath.Join(t.TempDir(), "missing.conf"), false))
	p := filepath.Join(t.TempDir(), "a.conf")
	require.NoError(t, os.WriteFile(p, []byte("Socket=/a\n"), 0o644))
	require.NoError(t, Load(fs, p, false))
	require.Equal(t, "/a", *s)
}

// Find is the one rule of every tool: flag, $ACCEL_DATA_CONF, next to
// $SLURM_CONF when that file exists, else the default (the only optional one).
func TestFind(t *testing.T) {
	dir := t.TempDir()
	slurmConf := filepath.Join(dir, "slurm.conf")
	envOf := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	p, optional := Find("/x.conf", envOf(map[string]string{PathEnv: "/y.conf"}))
	require.Equal(t, "/x.conf", p, "the flag wins")
	require.False(t, optional, "an explicit file must exist")

	p, optional = Find("", envOf(map[string]string{PathEnv: "/y.conf", SlurmConfEnv: slurmConf}))
	require.Equal(t, "/y.conf", p)
	require.False(t, optional)

	p, optional = Find("", envOf(map[string]string{SlurmConfEnv: slurmConf}))
	require.Equal(t, DefaultPath, p, "no file next to SLURM_CONF: the default")
	require.True(t, optional)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "accel-data.conf"), []byte("Socket=/tmp/s.sock\n"), 0o644))
	p, optional = Find("", envOf(map[string]string{SlurmConfEnv: slurmConf}))
	require.Equal(t, filepath.Join(dir, "accel-data.conf"), p)
	require.False(t, optional)

	p, optional = Find("", envOf(nil))
	require.Equal(t, DefaultPath, p)
	require.True(t, optional)
}
