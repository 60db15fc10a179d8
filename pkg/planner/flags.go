package planner

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/accel-data/accel-data/internal/bytesize"
)

// BindFlags registers the planner's flags on fs, writing into c, whose
// current values are shown as defaults. Each flag is a key of
// pkg/config.Keys: WarmHorizon is --warm-horizon, etc. ActiveWindows and
// TargetRatio are bound by warmupd itself (ParseWindows, WarmRatio).
func (c *Config) BindFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.FarHorizon, "warm-horizon", c.FarHorizon, "a dataset first needed further ahead than this never evicts anything and leaves room for sooner ones")
	fs.DurationVar(&c.ReserveAfter, "reserve-after", c.ReserveAfter, "a task blocked on cache space this long holds back lower-priority tasks that need space")
	fs.Var((*bytesize.Value)(&c.ActiveBudgetBytes), "active-budget", "bytes active warm-up may fetch per ActiveWindows window (e.g. 20TiB)")
	fs.Float64Var(&c.ActiveMaxLoad, "active-max-load", c.ActiveMaxLoad, "active warm-up runs only below this object-storage load (0..1)")
	fs.Float64Var(&c.ActiveMinHistory, "active-min-history", c.ActiveMinHistory, "active warm-up skips datasets with a lower decayed use count")
	c.Weights.BindFlags(fs)
}

// Validate says what is wrong with c, naming configuration keys.
func (c Config) Validate() error {
	if err := c.Weights.Validate(); err != nil {
		return err
	}
	if c.WarmRatio <= 0 || c.WarmRatio > 1 {
		return fmt.Errorf("TargetRatio=%g: must be in (0,1], e.g. 0.99", c.WarmRatio)
	}
	if c.ActiveMaxLoad < 0 || c.ActiveBudgetBytes < 0 || c.FarHorizon < 0 || c.ReserveAfter < 0 {
		return fmt.Errorf("WarmHorizon, ReserveAfter, ActiveBudget and ActiveMaxLoad must be >= 0")
	}
	return nil
}
