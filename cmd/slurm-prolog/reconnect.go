package main

import (
	"context"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Backoff between two attempts to reach an unreachable warmupd: short at
// first (a restart under systemd takes a few seconds), never longer than a
// second, so the prolog notices a restarted daemon at once.
const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = time.Second
)

// epilogReconnect bounds the epilog's attempts to reach warmupd: a job's
// node stays "completing" while the epilog runs, so it tries briefly, and
// warmupd's squeue reconciliation ends the jobs whose epilog could not
// reach it.
const epilogReconnect = 5 * time.Second

// reconnector calls warmupd again while it is unreachable (api.IsDaemonDown:
// nothing listens, the connection broke, or it did not answer within the
// client's response timeout), for at most budget of continuous
// unreachability and never past the caller's context. It remembers how many
// attempts failed and why, for the log line.
type reconnector struct {
	budget time.Duration

	retries int       // failed attempts that were tried again
	lastErr error     // the last unreachable error, even if a later attempt got through
	reached bool      // some call got an answer from warmupd
	since   time.Time // start of the current outage; zero while reachable
}

// do runs f until it gets an answer (or an error that is not about reaching
// warmupd), the outage outlasts the budget, or ctx ends; it returns f's last
// error.
func (r *reconnector) do(ctx context.Context, f func(context.Context) error) error {
	backoff := firstBackoff
	for {
		began := time.Now()
		err := f(ctx)
		switch {
		case err != nil && ctx.Err() != nil: // the caller's deadline or a signal
			return err
		case !api.IsDaemonDown(err): // an answer, good or bad
			r.reached, r.since = true, time.Time{}
			return err
		case api.IsMungeDown(err): // this host's munged: not back in seconds, the job starts now
			r.lastErr = err
			return err
		}
		r.lastErr = err
		if r.since.IsZero() {
			r.since = began
		}
		if ctx.Err() != nil || time.Now().Add(backoff).Sub(r.since) > r.budget {
			return err
		}
		r.retries++
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// classify is the reason for a run that ended with err: daemon-down when no
// call ever got an answer (nothing listened, or it hung until the deadline),
// unless a signal cut the run short; otherwise the usual classification.
func (r *reconnector) classify(ctx context.Context, err error) string {
	reason := classify(ctx, err)
	if !r.reached && reason != reasonSignal {
		return reasonDaemonDown
	}
	return reason
}

// report copies what the reconnector saw into the outcome's log fields.
func (r *reconnector) report(out *outcome) {
	out.Retries = r.retries
	if r.lastErr != nil {
		out.Unreachable = r.lastErr.Error()
	}
	out.Reconnected = r.retries > 0 && r.since.IsZero()
	out.MungeDown = api.IsMungeDown(r.lastErr)
}
