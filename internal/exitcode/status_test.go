package exitcode

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

var table = append(slices.Clone(Basic), Status{Code: 13, Meaning: "the daemon is down,\nor cannot be reached"})

func TestHelpIsGeneratedFromTheTable(t *testing.T) {
	require.Equal(t, "\nEXIT STATUS\n  0  success\n  1  error (the message says why)\n  2  bad flag or argument\n"+
		"  13  the daemon is down,\n      or cannot be reached\n", Help(table))
}

func TestCheckTable(t *testing.T) {
	require.NoError(t, CheckTable(table))
	require.ErrorContains(t, CheckTable(append(table[:3:3], Status{Code: 2, Meaning: "again"})), "listed twice")
	require.ErrorContains(t, CheckTable(table[1:]), "exit code 0 is missing")
	require.ErrorContains(t, CheckTable([]Status{{Code: 0}}), "no meaning")
}
