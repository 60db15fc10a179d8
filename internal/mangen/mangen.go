// Package mangen renders accel-data's man pages from the commands' own flag
// definitions, so the reference cannot drift from the code: cobra's doc
// generator for the cobra CLIs (swarmup(1), jfs-dedup(1)) and the same
// generator around a pflag.FlagSet for warmupd(8) and slurm-prolog(8).
//
// Each command's TestManPage renders its pages and calls Sync: it compares
// them with the checked-in files under man/ (a difference fails with "run
// `make man`"), or writes them when $ACCEL_UPDATE_MAN is set, which is what
// `make man` does.
package mangen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// UpdateEnv, when set to anything non-empty, makes Sync write the pages
// instead of comparing them (`make man`).
const UpdateEnv = "ACCEL_UPDATE_MAN"

// date is the date every page carries. It is fixed so that a page is a pure
// function of the code (a page that changed with the clock could never be
// checked in); move it forward when the pages change for a release.
var date = time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC)

// Pages maps a file name ("swarmup.1", "swarmup-warm.1") to its roff text.
type Pages map[string][]byte

// Cobra renders cmd and each of its available subcommands as a page of
// section ("1", "8"), named by the command path joined with '-'.
func Cobra(cmd *cobra.Command, section string) (Pages, error) {
	cmd.InitDefaultHelpFlag()
	cmd.InitDefaultVersionFlag()
	pages := Pages{}
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		c.DisableAutoGenTag = true
		c.Long = escape(c.Long)
		c.LocalFlags().VisitAll(func(f *pflag.Flag) { f.Usage = escape(f.Usage) })
		var b bytes.Buffer
		header := &doc.GenManHeader{Section: section, Date: &date, Source: "accel-data", Manual: "accel-data manual"}
		if err := doc.GenMan(c, header, &b); err != nil {
			return fmt.Errorf("man page of %s: %w", c.CommandPath(), err)
		}
		pages[strings.ReplaceAll(c.CommandPath(), " ", "-")+"."+section] = b.Bytes()
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
				continue
			}
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return pages, walk(cmd)
}

// escape keeps the page generator's Markdown from eating text: "<mount>"
// would be taken for an HTML tag and dropped. The commands are built for the
// page only, so their texts may be changed.
func escape(s string) string {
	return strings.NewReplacer(`\<`, `\<`, "<", `\<`).Replace(s)
}

// FlagSet renders a command that parses its arguments with a plain
// pflag.FlagSet (warmupd, slurm-prolog) as one page: the page is cobra's,
// of a command named fs.Name() whose flags are fs.
func FlagSet(fs *pflag.FlagSet, section, short, long string) (Pages, error) {
	cmd := &cobra.Command{Use: fs.Name() + " [flags]", Short: short, Long: long}
	cmd.Flags().AddFlagSet(fs)
	return Cobra(cmd, section)
}

// Undocumented lists the flags of cmd and every subcommand (fs for a plain
// FlagSet) whose usage text is empty, as "command --flag".
func Undocumented(cmd *cobra.Command) []string {
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, name := range UndocumentedFlags(c.LocalFlags()) {
			out = append(out, c.CommandPath()+" "+name)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd)
	return out
}

// UndocumentedFlags lists the flags of fs (as "--name") whose usage text is
// empty or blank.
func UndocumentedFlags(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		if strings.TrimSpace(f.Usage) == "" {
			out = append(out, "--"+f.Name)
		}
	})
	return out
}

// Sync writes pages into dir when $ACCEL_UPDATE_MAN is set, else checks
// them against dir (see Check).
func Sync(dir string, pages Pages) error {
	if os.Getenv(UpdateEnv) != "" {
		return Write(dir, pages)
	}
	return Check(dir, pages)
}

// Write writes every page into dir and removes the pages of the same
// commands that are no longer generated (a removed subcommand).
func Write(dir string, pages Pages) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stale, err := stalePages(dir, pages)
	if err != nil {
		return err
	}
	for _, name := range stale {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	for name, b := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Check compares pages with the files in dir. The error names every page
// that differs, is missing, or is left over from a command no longer
// generated, and says to run `make man`.
func Check(dir string, pages Pages) error {
	var bad []string
	for _, name := range sortedNames(pages) {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case os.IsNotExist(err):
			bad = append(bad, name+" (missing)")
		case err != nil:
			return err
		case !bytes.Equal(got, pages[name]):
			bad = append(bad, name+" (differs from the flags' definitions)")
		}
	}
	stale, err := stalePages(dir, pages)
	if err != nil {
		return err
	}
	for _, name := range stale {
		bad = append(bad, name+" (no such command any more)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("man pages in %s are out of date: %s; run `make man` and commit man/", dir, strings.Join(bad, ", "))
	}
	return nil
}

// stalePages lists the files in dir that look like pages of a subcommand
// of the same root command (its name plus '-', same section) but are not
// among pages: left over from a command that was removed.
func stalePages(dir string, pages Pages) ([]string, error) {
	names := sortedNames(pages)
	if len(names) == 0 {
		return nil, nil
	}
	root := names[0] // the root's name is a prefix of every other page's
	for _, n := range names {
		if len(n) < len(root) {
			root = n
		}
	}
	rootBase, sec := splitName(root)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, e := range entries {
		name := e.Name()
		if _, ok := pages[name]; ok || !strings.HasPrefix(name, rootBase+"-") || !strings.HasSuffix(name, "."+sec) {
			continue
		}
		stale = append(stale, name)
	}
	return stale, nil
}

func splitName(name string) (base, section string) {
	i := strings.LastIndexByte(name, '.')
	return name[:i], name[i+1:]
}

func sortedNames(pages Pages) []string {
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
