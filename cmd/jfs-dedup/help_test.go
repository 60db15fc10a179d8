package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/exitcode"
)

func TestHelpListsExitStatus(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"scan", "--help"}, {"apply", "--help"}} {
		var out, errOut bytes.Buffer
		f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: time.Now}
		require.Equal(t, exitOK, Main(context.Background(), f, args), errOut.String())
		require.Contains(t, out.String(), exitcode.Help(exitStatuses), "jfs-dedup %v: EXIT STATUS is generated from the table", args)
		require.Contains(t, out.String(), "\n  3  apply refused: a file of the report is not on a JuiceFS mount\n")
	}
}
