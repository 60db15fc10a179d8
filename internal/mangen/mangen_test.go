package mangen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

func tool() *cobra.Command {
	root := &cobra.Command{Use: "tool", Short: "a tool"}
	root.PersistentFlags().String("socket", "/run/x.sock", "the socket under <mount>")
	sub := &cobra.Command{Use: "sub", Short: "a subcommand", Run: func(*cobra.Command, []string) {}}
	sub.Flags().Bool("wait", false, "")
	root.AddCommand(sub)
	return root
}

// A page per command; the flags' usage text is on it, "<mount>" kept.
func TestCobraPages(t *testing.T) {
	pages, err := Cobra(tool(), "1")
	require.NoError(t, err)
	require.Len(t, pages, 2)
	require.Contains(t, string(pages["tool.1"]), "the socket under <mount>")
	require.Contains(t, string(pages["tool-sub.1"]), "wait")
	again, err := Cobra(tool(), "1")
	require.NoError(t, err)
	require.Equal(t, pages, again, "pages must not depend on when they are made")
}

// Check names a page that differs, is missing or is left over, and says
// what to run; Write makes Check pass and removes the leftover.
func TestCheckAndWrite(t *testing.T) {
	dir := t.TempDir()
	pages, err := Cobra(tool(), "1")
	require.NoError(t, err)
	err = Check(dir, pages)
	require.ErrorContains(t, err, "tool.1 (missing)")
	require.ErrorContains(t, err, "run `make man`")

	require.NoError(t, Write(dir, pages))
	require.NoError(t, Check(dir, pages))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "tool-sub.1"), []byte("old\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tool-gone.1"), []byte("old\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.1"), []byte("not ours\n"), 0o644))
	err = Check(dir, pages)
	require.ErrorContains(t, err, "tool-sub.1 (differs from the flags' definitions)")
	require.ErrorContains(t, err, "tool-gone.1 (no such command any more)")
	require.NotContains(t, err.Error(), "other.1")

	require.NoError(t, Write(dir, pages))
	require.NoError(t, Check(dir, pages))
	require.NoFileExists(t, filepath.Join(dir, "tool-gone.1"))
	require.FileExists(t, filepath.Join(dir, "other.1"))
}

// Flags without a usage text are listed, by command.
func TestUndocumented(t *testing.T) {
	require.Equal(t, []string{"tool sub --wait"}, Undocumented(tool()))
	fs := pflag.NewFlagSet("d", pflag.ContinueOnError)
	fs.Int("workers", 2, "  ")
	fs.Int("retries", 3, "attempts")
	require.Equal(t, []string{"--workers"}, UndocumentedFlags(fs))
	pages, err := FlagSet(fs, "8", "a daemon", "It runs.")
	require.NoError(t, err)
	require.Contains(t, string(pages["d.8"]), "attempts")
}
