package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/accel-data/accel-data/pkg/priority"
	"github.com/spf13/pflag"
)

// ConfigKeys lists the configuration keys Config.BindFlags registers (the
// priority weights' keys included). ActiveWindows and TargetRatio are bound
// by warmupd itself (ParseWindows, WarmRatio).
var ConfigKeys = append([]string{"WarmHorizon", "ReserveAfter", "ActiveBudget", "ActiveMaxLoad", "ActiveMinHistory"}, priority.ConfigKeys...)

// BindFlags registers the planner's flags on fs, writing into c, whose
// current values are shown as defaults. Key WarmHorizon is --warm-horizon etc.
func (c *Config) BindFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.FarHorizon, "warm-horizon", c.FarHorizon, "a dataset first needed further ahead than this never evicts anything and leaves room for sooner ones")
	fs.DurationVar(&c.ReserveAfter, "reserve-after", c.ReserveAfter, "a task blocked on cache space this long holds back lower-priority tasks that need space")
	fs.Var((*ByteSize)(&c.ActiveBudgetBytes), "active-budget", "bytes active warm-up may fetch per ActiveWindows window (e.g. 20TiB)")
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

// ByteSize is an int64 flag value that accepts 123, 500GiB, 2TiB, 1.5T.
type ByteSize int64

func (b *ByteSize) String() string { return Bytes(int64(*b)) }
func (b *ByteSize) Type() string   { return "bytes" }
func (b *ByteSize) Set(s string) error {
	n, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*b = ByteSize(n)
	return nil
}

// ParseBytes parses a size: a plain number of bytes or a number with a
// K/M/G/T/P suffix (KiB, KB and K all mean 1024).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	u = strings.TrimSuffix(strings.TrimSuffix(u, "B"), "I")
	mul := int64(1)
	if u != "" {
		if k := strings.IndexByte("KMGTP", u[len(u)-1]); k >= 0 {
			mul = int64(1) << (10 * (k + 1))
			u = u[:len(u)-1]
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: write a number of bytes or e.g. 500GiB, 2TiB", s)
	}
	return int64(f * float64(mul)), nil
}
