package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// A wait that ended as meant logs at info, a problem at warn; a reason
// missing from the table is a problem.
func TestReasonLevelsComeFromTheTable(t *testing.T) {
	for reason, want := range map[string]string{reasonWarm: "INF", reasonDeadline: "INF", reasonEnded: "INF", reasonDaemonDown: "WRN", reasonPanic: "WRN", "no-such-reason": "WRN"} {
		var b bytes.Buffer
		logOutcome(&b, "", outcome{Mode: modeProlog, Reason: reason})
		require.Contains(t, b.String(), " "+want+" ", "reason %s", reason)
	}
}
