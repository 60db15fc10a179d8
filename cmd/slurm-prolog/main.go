// Command slurm-prolog is accel-data's Slurm Prolog and Epilog: in the prolog
// it tells warmupd a job started and waits, bounded, until the job's datasets
// are warm; in the epilog it tells warmupd the job ended. It exits 0 on every
// path, because a failing prolog or epilog drains the node.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/accel-data/accel-data/internal/version"
	"github.com/accel-data/accel-data/pkg/api"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == warmShardCmd {
		os.Exit(int(warmShard(os.Args[2:], os.Getenv, os.Stderr)))
	}
	run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(0)
}

// run does one prolog or epilog and logs one line to stderr (and the
// PrologLog file); --version prints to stdout. It never panics and never
// asks for a non-zero exit.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) {
	out := outcome{}
	var o options
	logged := false
	defer func() {
		if r := recover(); r != nil {
			out.Reason = reasonPanic
			out.Detail = fmt.Sprintf("%v: %s", r, strings.ReplaceAll(string(debug.Stack()), "\n", " | "))
		}
		if !logged {
			logOutcome(stderr, o.prologLog, out)
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()

	// Flags first: --help and --version answer without a job environment.
	o, optErr := parseOptions(args, getenv)
	switch {
	case errors.Is(optErr, pflag.ErrHelp):
		logged = true
		return
	case optErr == nil && o.version:
		logged = true
		fmt.Fprintln(stdout, version.Line("slurm-prolog"))
		return
	}
	if len(o.args) > 0 && o.args[0] == "stagein" {
		out.Mode = modeStagein
		if optErr != nil {
			out.Reason, out.Detail = reasonBadConfig, optErr.Error()
		} else {
			c := &api.Client{Socket: o.socket, Server: o.server, MungeSocket: o.mungeSocket, ServerUID: o.serverUID, Sessions: true}
			out = stagein(ctx, c, o.args[1:], o)
		}
		fmt.Fprintln(stdout, message("stage-in", out)) // the line burst_buffer.lua logs
		return
	}
	e, err := parseEnv(getenv)
	out.Mode, out.Job, out.Node, out.Paths = e.Mode, e.JobID, e.Node, e.Paths
	if err != nil {
		out.Reason, out.Detail = reasonBadEnv, err.Error()
		return
	}
	if optErr != nil {
		out.Reason, out.Detail = reasonBadConfig, optErr.Error()
		return
	}
	if len(e.Paths) == 0 {
		logged = true // not an accel-data job: stay quiet
		return
	}
	// The prolog polls its job's readiness: over TCP it opens a session
	// instead of making a MUNGE credential per poll. The epilog makes one call.
	c := &api.Client{Socket: o.socket, Server: o.server, MungeSocket: o.mungeSocket, ServerUID: o.serverUID,
		Sessions: e.Mode == modeProlog}
	if e.Mode == modeProlog {
		out = prolog(ctx, c, e, o)
	} else {
		out = epilog(ctx, c, e)
	}
}

// logOutcome writes the one line to stderr and, when configured, appends it to path.
func logOutcome(stderr io.Writer, path string, out outcome) {
	w := stderr
	var f *os.File
	if path != "" {
		var err error
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			defer f.Close()
			w = io.MultiWriter(stderr, f)
		}
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: w, NoColor: true, TimeFormat: time.RFC3339}).With().Timestamp().Logger()
	ev := log.WithLevel(reasonLevel(out.Reason))
	name := "prolog"
	switch out.Mode {
	case modeEpilog:
		name = "epilog"
	case modeStagein:
		name = "stage-in"
	}
	ev = ev.Str("reason", out.Reason).Uint64("job", out.Job).Str("node", out.Node).
		Str("paths", strings.Join(out.Paths, ",")).Str("waited", out.Waited.Round(time.Millisecond).String())
	if len(out.Datasets) > 0 {
		ev = ev.Str("datasets", summary(out.Datasets))
	}
	if out.Detail != "" {
		ev = ev.Str("detail", out.Detail)
	}
	if out.IO != nil {
		ev = ev.Str("io", ioSummary(out.IO))
	}
	if out.Retries > 0 {
		ev = ev.Int("retries", out.Retries)
		if out.Reason != reasonDaemonDown {
			ev = ev.Str("unreachable", out.Unreachable)
		}
	}
	ev.Msg(message(name, out))
}

// message is the human part of the log line, with a note when warmupd had
// to be reached again.
func message(name string, out outcome) string {
	waited := out.Waited.Round(time.Millisecond)
	msg := prologMessage(name, out.Reason, waited)
	if out.Mode == modeStagein {
		msg = stageinMessage(out.Reason, waited)
	}
	if out.Mode == modeEpilog {
		switch out.Reason {
		case reasonEnded:
			msg = "accel-data epilog: told warmupd the job ended"
		case reasonDaemonDown:
			msg = fmt.Sprintf("accel-data epilog: warmupd did not answer (tried for %v), could not tell it the job ended; warmupd ends the job once squeue no longer lists it (start or restart warmupd)", waited)
		case reasonBadEnv, reasonBadConfig, reasonPanic:
		default:
			msg = fmt.Sprintf("accel-data epilog: could not tell warmupd the job ended (%s)", out.Reason)
		}
	}
	if out.Reason == reasonDaemonDown && out.MungeDown {
		msg = fmt.Sprintf("accel-data %s: cannot make a MUNGE credential on this host to reach warmupd, job goes on without waiting (start munged, or fix MungeSocket)", name)
	}
	switch {
	case out.Reconnected:
		msg += fmt.Sprintf(" (warmupd was unreachable for a while: reached it again after %d retries)", out.Retries)
	case out.Retries > 0 && out.Reason != reasonDaemonDown:
		msg += fmt.Sprintf(" (warmupd stopped answering: %d retries until the wait ended)", out.Retries)
	}
	return msg
}

// prologMessage is the human part of the prolog's line for reason.
func prologMessage(name, reason string, waited time.Duration) string {
	switch reason {
	case reasonWarm:
		return fmt.Sprintf("accel-data %s: data warm after %v, job starts", name, waited)
	case reasonPartial:
		return fmt.Sprintf("accel-data %s: warm-up settled after %v but not everything is cached, job starts", name, waited)
	case reasonNarrowed:
		return fmt.Sprintf("accel-data %s: what jobs read of the data is warm after %v (narrowed warm-up), job starts; the rest warms in the background", name, waited)
	case reasonReleaseAt:
		return fmt.Sprintf("accel-data %s: the first part of the data (ReleaseAt, directory order) is warm after %v, job starts; the rest warms in the background", name, waited)
	case reasonTimeout:
		return fmt.Sprintf("accel-data %s: stopped waiting after %v (prolog-wait reached), job starts; the warm-up continues in the background", name, waited)
	case reasonETA:
		return fmt.Sprintf("accel-data %s: stopped waiting after %v: the warm-up cannot finish within prolog-wait, job starts and reads the rest through the cache; the warm-up continues in the background", name, waited)
	case reasonDaemonDown:
		return fmt.Sprintf("accel-data %s: warmupd did not answer (tried for %v, see prolog-reconnect), job starts without waiting (start or restart warmupd)", name, waited)
	case reasonRefused:
		return fmt.Sprintf("accel-data %s: warmupd refused the request, job starts without waiting", name)
	case reasonBadEnv:
		return fmt.Sprintf("accel-data %s: unusable environment from slurmd, job starts without waiting", name)
	case reasonBadConfig:
		return fmt.Sprintf("accel-data %s: bad configuration, job starts without waiting (fix the file named in detail)", name)
	case reasonSignal:
		return fmt.Sprintf("accel-data %s: interrupted by a signal after %v (is PrologEpilogTimeout below prolog-wait?), job starts", name, waited)
	case reasonPanic:
		return fmt.Sprintf("accel-data %s: internal error (please report it), job starts", name)
	}
	return fmt.Sprintf("accel-data %s: could not talk to warmupd after %v, job starts", name, waited)
}
