package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/exitcode"
)

var testTable = append(slices.Clone(exitcode.Basic), exitcode.Status{Code: 3, Meaning: "the daemon is down,\nor cannot be reached"})

var errDown = errors.New("daemon down")

// newRoot is a small real command tree: a root with one subcommand that
// returns whatever err is set to.
func newRoot(err *error) *cobra.Command {
	root := &cobra.Command{Use: "tool"}
	Setup(root, "tool", testTable)
	sub := &cobra.Command{Use: "do", Args: MinArgs(1, "THING"), RunE: func(*cobra.Command, []string) error { return *err }}
	sub.Flags().Int("n", 0, "a number")
	root.AddCommand(sub)
	return root
}

func run(t *testing.T, ret error, args ...string) (exitcode.Code, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	classify := func(err error) (exitcode.Code, bool) {
		if errors.Is(err, errDown) {
			return 3, true
		}
		return 0, false
	}
	code := Main(context.Background(), newRoot(&ret), io, args, classify)
	return code, out.String(), errOut.String()
}

func TestMainExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		ret    error
		code   exitcode.Code
		stderr string
	}{
		{[]string{"do", "x"}, nil, exitcode.OK, ""},
		{[]string{"bogus"}, nil, exitcode.Usage, "tool: unknown command \"bogus\" for \"tool\"\nRun 'tool --help' for usage.\n"},
		{[]string{"do", "--bogus", "x"}, nil, exitcode.Usage, "Run 'tool do --help' for usage."},
		{[]string{"do", "--n", "many", "x"}, nil, exitcode.Usage, "invalid argument"},
		{[]string{"do"}, nil, exitcode.Usage, "tool do needs at least 1 THING"},
		{[]string{"do", "x"}, errors.New("disk full"), exitcode.Failure, "tool: disk full\n"},
		{[]string{"do", "x"}, errDown, 3, "tool: daemon down\n"},
		{[]string{"do", "x"}, exitcode.With(4, errors.New("partly")), 4, "tool: partly\n"},
		{[]string{"do", "x"}, Silent(4), 4, ""},
	} {
		code, _, stderr := run(t, tc.ret, tc.args...)
		require.Equal(t, tc.code, code, "tool %v: %s", tc.args, stderr)
		if tc.stderr == "" {
			require.Empty(t, stderr, "tool %v", tc.args)
		} else {
			require.Contains(t, stderr, tc.stderr, "tool %v", tc.args)
		}
		if code != exitcode.Usage {
			require.NotContains(t, stderr, "--help' for usage", "only usage errors point at --help")
		}
	}
}

func TestHelpHasTheGeneratedExitStatus(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"do", "--help"}} {
		code, out, _ := run(t, nil, args...)
		require.Equal(t, exitcode.OK, code)
		require.Contains(t, out, "\nEXIT STATUS\n  0  success\n  1  error (the message says why)\n  2  bad flag or argument\n"+
			"  3  the daemon is down,\n     or cannot be reached\n", "tool %v", args)
	}
}

func TestSetupRefusesABadTable(t *testing.T) {
	require.Panics(t, func() { Setup(&cobra.Command{Use: "x"}, "x", testTable[1:]) }, "a bad table is a programming error")
}
