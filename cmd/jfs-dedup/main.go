// Command jfs-dedup finds duplicate files and turns large duplicates on
// JuiceFS into clones that share their data: `jfs-dedup scan PATH…` (or
// `--from-dump`) reports duplicate groups and never changes anything;
// `jfs-dedup apply REPORT` replaces the duplicates of a JSON report with
// `juicefs clone -p` copies of the kept file, re-verifying each first.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/accel-data/accel-data/internal/cmdutil"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The scan holds little live data; a tighter heap target keeps peak
		// RSS at the level of the C tools for about 5 % more CPU.
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	f := &Factory{IO: cmdutil.System(), Now: time.Now}
	code := Main(ctx, f, os.Args[1:])
	stop()
	os.Exit(int(code))
}
