// Command swarmup shows and drives warmupd's warm-up queue the way squeue
// shows Slurm's job queue: `swarmup` lists the queue, `swarmup warm PATH…`
// asks for a warm-up, `swarmup cancel` cancels one, `swarmup datasets` shows
// the cache status table. It talks to warmupd over its unix socket through
// pkg/api and never opens the database itself.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/accel-data/accel-data/internal/cmdutil"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	f := &Factory{
		IO:     cmdutil.System(),
		Now:    time.Now,
		Getwd:  os.Getwd,
		Getenv: os.Getenv,
	}
	code := Main(ctx, f, os.Args[1:])
	stop()
	os.Exit(int(code))
}
