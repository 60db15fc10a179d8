package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/prologwait"
)

// outcome is what one run did; main logs it as one line.
type outcome struct {
	Mode     mode
	Reason   string
	Detail   string
	Waited   time.Duration
	Job      uint64
	Node     string
	Paths    []string
	Datasets []api.JobDataset
	// Retries counts the attempts that found warmupd unreachable and were
	// tried again; Unreachable is the last such error.
	Retries     int
	Unreachable string
	// Reconnected says the last attempt got through after retries.
	Reconnected bool
	// MungeDown says no MUNGE credential could be made on this host (Server
	// set, munged down): the run did not wait for it.
	MungeDown bool
	// IO is what accel-agent reported the job read on this node (epilog).
	IO *api.JobNodeIO
}

// prolog tells warmupd the job started and waits until its data is ready or
// the deadline passes. It never fails: every problem becomes a reason.
func prolog(ctx context.Context, c *api.Client, e jobEnv, o options) outcome {
	return waitData(ctx, c, e, waitRules{bound: o.prologWait, poll: o.pollInterval, reconnect: o.reconnect, stopEarly: o.stopEarly},
		func(cctx context.Context) (*api.JobStatus, error) {
			return c.JobStart(cctx, e.JobID, api.JobStartRequest{Token: e.Token, Paths: e.Paths, Node: e.Node, UID: e.UID})
		})
}

// waitRules bound one wait for a job's data: the prolog's (PrologWait) or
// the stage-in's (StageInDeadline).
type waitRules struct {
	bound, poll, reconnect time.Duration
	stopEarly              bool // give up when the measured speed says bound cannot be met
}

// waitData makes the first call (the prolog's job start, the stage-in's
// status) and polls warmupd until the job's data is ready or rules.bound
// passes. It never fails: every problem becomes a reason.
func waitData(ctx context.Context, c *api.Client, e jobEnv, rules waitRules, first func(context.Context) (*api.JobStatus, error)) outcome {
	start := time.Now()
	out := outcome{Mode: e.Mode, Job: e.JobID, Node: e.Node, Paths: e.Paths}
	ctx, cancel := context.WithTimeout(ctx, rules.bound)
	defer cancel()
	done := func(reason, detail string, st *api.JobStatus) outcome {
		out.Reason, out.Detail, out.Waited = reason, detail, time.Since(start)
		if st != nil {
			out.Datasets = st.Datasets
		}
		return out
	}

	rc := &reconnector{budget: rules.reconnect}
	var st *api.JobStatus
	call := func(f func(context.Context) (*api.JobStatus, error)) error {
		return rc.do(ctx, func(cctx context.Context) error {
			s, err := f(cctx)
			if err == nil {
				st = s
			}
			return err
		})
	}
	stop := func(reason, detail string, st *api.JobStatus) outcome {
		rc.report(&out)
		return done(reason, detail, st)
	}
	err := call(first)
	var last *api.JobStatus
	longPoll, pause := true, false
	for {
		if err != nil {
			return stop(rc.classify(ctx, err), err.Error(), last)
		}
		last = st
		if st.Ready {
			if st.Warm {
				return stop(reasonWarm, "", st)
			}
			if part := hotReady(st.Datasets); part != "" {
				return stop(part, "", st)
			}
			return stop(reasonPartial, "", st)
		}
		if rules.stopEarly {
			if why := hopeless(st.Datasets, time.Since(start), rules.bound); why != "" {
				return stop(reasonETA, why, st)
			}
		}
		if longPoll && !pause {
			// Ask once and be answered when something changed or the wait
			// is over (the server's bound, then ask again).
			asked := time.Now()
			err = call(func(cctx context.Context) (*api.JobStatus, error) {
				left := time.Until(start.Add(rules.bound))
				return c.JobWait(cctx, e.JobID, max(left-longPollMargin, 0))
			})
			if !api.IsNoLongPoll(err) {
				pause = err == nil && time.Since(asked) < quickAnswer
				continue
			}
			longPoll = false // a warmupd older than the long poll: ask every poll-interval
		}
		pause = false
		t := time.NewTimer(rules.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return stop(classify(ctx, ctx.Err()), "", st)
		case <-t.C:
		}
		err = call(func(cctx context.Context) (*api.JobStatus, error) { return c.JobStatus(cctx, e.JobID) })
	}
}

// longPollMargin: a long poll asks warmupd to answer this long before the
// prolog's own deadline, so the last answer (and its summary) arrives.
const longPollMargin = time.Second

// quickAnswer: a long poll answered faster than this without the job being
// ready is followed by one poll-interval pause (no busy loop on a warmupd
// that keeps answering at once).
const quickAnswer = 50 * time.Millisecond

// hopeless says why waiting cannot pay off: a dataset warming at a measured
// speed that will not finish within the bound (prologwait.KeepWaiting, the rule
// the simulator's accel policy uses). A dataset without a measured speed
// (queued, or just started) gives no verdict: the prolog keeps waiting.
func hopeless(ds []api.JobDataset, waited, bound time.Duration) string {
	for _, d := range ds {
		remaining := d.Bytes - d.CachedBytes
		if d.State != api.TaskWarming || d.WarmRateBps <= 0 || remaining <= 0 {
			continue
		}
		if !prologwait.KeepWaiting(remaining, d.WarmRateBps, waited, bound) {
			eta := prologwait.ETA(remaining, d.WarmRateBps).Round(time.Second)
			return fmt.Sprintf("%s needs %s more at %s/s: ETA %v is past the %v prolog-wait", d.Dataset,
				bytesize.Format(remaining), bytesize.Format(int64(d.WarmRateBps)), eta, bound)
		}
	}
	return ""
}

// classify maps an error to the reason in the log line.
func classify(ctx context.Context, err error) string {
	var se *api.StatusError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return reasonTimeout
	case errors.Is(ctx.Err(), context.Canceled):
		return reasonSignal
	case api.IsDaemonDown(err):
		return reasonDaemonDown
	case errors.As(err, &se) && se.Code/100 == 4:
		return reasonRefused
	}
	return reasonError
}

// epilog tells warmupd the job ended on this node, trying again for a few
// seconds (epilogReconnect) while warmupd is unreachable.
func epilog(ctx context.Context, c *api.Client, e jobEnv) outcome {
	start := time.Now()
	out := outcome{Mode: e.Mode, Job: e.JobID, Node: e.Node, Paths: e.Paths, Reason: reasonEnded}
	cctx, cancel := context.WithTimeout(ctx, epilogReconnect)
	defer cancel()
	rc := &reconnector{budget: epilogReconnect}
	err := rc.do(cctx, func(cctx context.Context) error {
		return c.JobEnd(cctx, e.JobID, api.JobEndRequest{Node: e.Node, ExitCode: e.ExitCode, Reason: "epilog"})
	})
	if err != nil {
		out.Reason, out.Detail = rc.classify(cctx, err), err.Error()
	} else {
		out.IO = nodeIO(ctx, c, e.JobID, e.Node)
	}
	rc.report(&out)
	out.Waited = time.Since(start)
	return out
}

// summary renders the datasets' readiness: "/jfs/a warm 99%, /jfs/b warming 42%",
// with the reason of a dataset that failed or was cancelled:
// "/jfs/c failed 0% (3.2 GiB, larger than MaxRequestBytes=…)". Percentages
// are rounded down: 100% only when all is known to be cached (juicefs
// --check prints 99.95 % as "100.0%", which gives 0.9995).
func summary(ds []api.JobDataset) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		part := fmt.Sprintf("%s %s %.0f%%", d.Dataset, d.State, math.Floor(d.CachedRatio*100))
		if (d.State == api.TaskFailed || d.State == api.TaskCancelled) && d.Reason != "" {
			part += " (" + d.Reason + ")"
		}
		switch {
		case d.HotReady && d.HotPart == api.HotReleaseAt:
			part += " (the part jobs read first is warm)"
		case d.HotReady:
			part += " (what jobs read is warm)"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// hotReady says whether a dataset is ready through the part its warm-up
// warmed first (the rest still warming), and returns that part as the
// prolog's reason: narrowed, or release-at ("" when none).
func hotReady(ds []api.JobDataset) string {
	for _, d := range ds {
		if d.HotReady {
			if d.HotPart == api.HotReleaseAt {
				return reasonReleaseAt
			}
			return reasonNarrowed
		}
	}
	return ""
}
