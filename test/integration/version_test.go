package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// warmupd --version and /v1/health report the same build version.
func TestWarmupdVersionInHealth(t *testing.T) {
	want := testutil.RequireVersion(t, testutil.Binary(t, "cmd/warmupd"), "warmupd")
	d := testutil.StartWarmupd(t, testutil.NewVolume(t))
	h, err := d.Client.Health(context.Background())
	require.NoError(t, err)
	require.Equal(t, want, h.Version)
}
