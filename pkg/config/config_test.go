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

// Every key is documented in one of README.md's or docs/*.md's key tables
// (a row naming `Key`), so a key added to Keys cannot be left out of the admin's docs.
func TestEveryKeyIsInTheREADMETables(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	// and docs/*.md, where each part documents its keys
	docs, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	for _, d := range docs {
		x, err := os.ReadFile(d)
		require.NoError(t, err)
		b = append(append(b, '\n'), x...)
	}
	var rows []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "|") {
			rows = append(rows, l)
		}
	}
	for _, k := range Keys {
		found := false
		for _, r := range rows {
			if strings.Contains(r, "`"+k+"`") {
				found = true
				break
			}
		}
		require.True(t, found, "key %s is in config.Keys but in no README.md table row: add it to the key table of its tool", k)
	}
}
