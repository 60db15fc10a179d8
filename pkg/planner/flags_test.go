package planner

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/config"
)

func TestBindFlagsAndValidate(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	fs := pflag.NewFlagSet("warmupd", pflag.ContinueOnError)
	c.BindFlags(fs)
	require.NoError(t, fs.Parse([]string{"--active-budget=20TiB", "--warm-horizon=6h", "--priority-weight-age=9"}))
	require.Equal(t, int64(20)<<40, c.ActiveBudgetBytes)
	require.Equal(t, 6*time.Hour, c.FarHorizon)
	require.Equal(t, 9.0, c.Weights.Age)
	fs.VisitAll(func(f *pflag.Flag) {
		require.True(t, config.IsKey(f.Name), "--%s is a key of pkg/config.Keys", f.Name)
	})
	require.ErrorContains(t, fs.Parse([]string{"--active-budget=lots"}), "500GiB")

	c.WarmRatio = 1.5
	require.ErrorContains(t, c.Validate(), "TargetRatio=1.5")
}
