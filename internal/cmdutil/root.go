package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/internal/version"
)

// UsageErrorf is an error for a bad flag, argument or value: Main prints it
// with a pointer to --help and exits with exitcode.Usage.
func UsageErrorf(format string, a ...any) error {
	return exitcode.Errorf(exitcode.Usage, format, a...)
}

// Silent is an error that sets the exit status and prints nothing: the
// command has already said what happened (e.g. jfs-dedup's partial scans).
func Silent(code exitcode.Code) error { return exitcode.With(code, errSilent) }

var errSilent = errors.New("")

// Setup gives root what every accel-data CLI has: errors and usage printed
// once by Main (not by cobra), --version, flag errors as usage errors, the
// EXIT STATUS section generated from table under every command's help, and
// no completion command. name is the tool's name in the version line.
func Setup(root *cobra.Command, name string, table []exitcode.Status) {
	if err := exitcode.CheckTable(table); err != nil {
		panic(fmt.Sprintf("cmdutil: %s's exit-status table: %v", name, err))
	}
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.Version = version.String()
	root.SetVersionTemplate(version.Line(name) + "\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return UsageErrorf("%v", err) })
	root.SetUsageTemplate(root.UsageTemplate() + exitcode.Help(table))
	root.CompletionOptions.DisableDefaultCmd = true
}

// Main runs root with args on streams and returns the exit status: the code
// err carries (exitcode.With), else what classify says (nil: none), else
// exitcode.Usage for cobra's own usage errors (unknown command or flag),
// else exitcode.Failure. The error is printed as "NAME: message"; a usage
// error is followed by "Run 'CMD --help' for usage.".
func Main(ctx context.Context, root *cobra.Command, streams *IOStreams, args []string,
	classify func(error) (exitcode.Code, bool)) exitcode.Code {
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitcode.OK
	}
	code := CodeFor(err, classify)
	if errors.Is(err, errSilent) {
		return code
	}
	fmt.Fprintf(streams.ErrOut, "%s: %v\n", root.Name(), err)
	if code == exitcode.Usage && cmd != nil {
		fmt.Fprintf(streams.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// CodeFor is the exit status for err (see Main).
func CodeFor(err error, classify func(error) (exitcode.Code, bool)) exitcode.Code {
	if err == nil {
		return exitcode.OK
	}
	if c, ok := exitcode.From(err); ok {
		return c
	}
	if classify != nil {
		if c, ok := classify(err); ok {
			return c
		}
	}
	if isCobraUsageError(err) {
		return exitcode.Usage
	}
	return exitcode.Failure
}

// cobra returns its own usage errors as plain errors; these are their openings.
var cobraUsage = []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument",
	"flag needs an argument", "required flag", "accepts ", "requires at least", "requires at most", "if any flags in the group"}

func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range cobraUsage {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// NoArgs rejects positional arguments with a usage error (an unknown
// command, when cmd has subcommands).
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return UsageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
		}
		return UsageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// MinArgs requires at least n positional arguments, naming what is missing.
func MinArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return UsageErrorf("%s needs at least %d %s", cmd.CommandPath(), n, what)
		}
		return nil
	}
}
