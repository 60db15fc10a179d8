package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Stage-in mode: contrib's burst_buffer.lua runs, inside slurmctld's
// slurmscriptd, `slurm-prolog stagein start JOBID UID SCRIPT` from
// slurm_bb_setup and `slurm-prolog stagein wait JOBID SCRIPT` from
// slurm_bb_data_in. While data_in runs the job stays PENDING with reason
// BurstBufferStageIn and holds no node. Both exit 0 and print one line for the
// Lua to log; the Lua always returns success, because a failed stage-in holds
// the job.

const modeStagein mode = "stagein"

// startTimeout bounds `stagein start`: it runs before data_in, and a slow
// warmupd must not delay the stage-in much.
const startTimeout = 10 * time.Second

// directive is the line job_submit.lua writes into the job's burst-buffer
// request: "#BB_LUA accel-data token=HEX paths=P1,P2" (token optional, paths last).
const directive = "#BB_LUA accel-data"

// stageinArgs are the parsed positional arguments.
type stageinArgs struct {
	verb   string // start or wait
	jobID  uint64
	uid    uint32
	script string
}

const stageinUsage = "usage: slurm-prolog stagein start JOBID UID SCRIPT | slurm-prolog stagein wait JOBID SCRIPT"

// parseStagein reads the arguments after "stagein".
func parseStagein(args []string) (stageinArgs, error) {
	var a stageinArgs
	if len(args) == 0 {
		return a, fmt.Errorf("%s", stageinUsage)
	}
	a.verb = args[0]
	want := map[string]int{"start": 4, "wait": 3}[a.verb]
	if want == 0 || len(args) != want {
		return a, fmt.Errorf("%s (got %q)", stageinUsage, strings.Join(args, " "))
	}
	id, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil || id == 0 {
		return a, fmt.Errorf("JOBID %q is not a job id", args[1])
	}
	a.jobID = id
	if a.verb == "start" {
		uid, err := strconv.ParseUint(args[2], 10, 32)
		if err != nil {
			return a, fmt.Errorf("UID %q is not a uid", args[2])
		}
		a.uid = uint32(uid)
	}
	a.script = args[want-1]
	return a, nil
}

// parseDirective finds the accel-data directive in the job script and
// returns its token and paths (none: not an accel-data job).
func parseDirective(r io.Reader) (token string, paths []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		rest, ok := strings.CutPrefix(line, directive)
		if !ok || (rest != "" && rest[0] != ' ') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if t, r, ok := strings.Cut(rest, "token="); ok && strings.TrimSpace(t) == "" {
			token, rest, _ = strings.Cut(r, " ")
			rest = strings.TrimSpace(rest)
		}
		if p, ok := strings.CutPrefix(rest, "paths="); ok {
			for _, s := range strings.Split(p, ",") {
				if s = strings.TrimSpace(s); s != "" {
					paths = append(paths, s)
				}
			}
		}
		return token, paths, nil
	}
	return "", nil, sc.Err()
}

// stagein runs one stage-in step and returns its outcome (never an error:
// every problem is a reason, and the job goes on).
func stagein(ctx context.Context, c *api.Client, args []string, o options) outcome {
	out := outcome{Mode: modeStagein}
	a, err := parseStagein(args)
	out.Job = a.jobID
	if err != nil {
		out.Reason, out.Detail = reasonBadEnv, err.Error()
		return out
	}
	f, err := os.Open(a.script)
	if err != nil {
		out.Reason, out.Detail = reasonBadEnv, fmt.Sprintf("job script: %v", err)
		return out
	}
	token, paths, err := parseDirective(f)
	f.Close()
	out.Paths = paths
	if err != nil || len(paths) == 0 {
		out.Reason, out.Detail = reasonBadEnv, fmt.Sprintf("job script %s has no %q line with paths= (was the job submitted through contrib's job_submit.lua?)", a.script, directive)
		if err != nil {
			out.Detail += ": " + err.Error()
		}
		return out
	}
	if a.verb == "start" {
		return stageinStart(ctx, c, a, token, paths, out)
	}
	e := jobEnv{Mode: modeStagein, JobID: a.jobID, Paths: paths}
	out = waitData(ctx, c, e, waitRules{bound: o.stageInDeadline, poll: o.pollInterval, reconnect: o.reconnect},
		func(cctx context.Context) (*api.JobStatus, error) { return c.JobStatus(cctx, a.jobID) })
	if out.Reason == reasonTimeout {
		out.Reason = reasonDeadline
	}
	return out
}

// stageinStart queues the job's data, bound to its job id (and to the token
// the SPANK plugin gave the submission, so the two requests are one job).
func stageinStart(ctx context.Context, c *api.Client, a stageinArgs, token string, paths []string, out outcome) outcome {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	uid := a.uid
	_, err := c.Submit(ctx, api.SubmitRequest{Paths: paths, Token: token, JobID: a.jobID, Source: api.SourceSubmit, UID: &uid})
	out.Waited = time.Since(start)
	if err != nil {
		out.Reason, out.Detail = classify(ctx, err), err.Error()
		return out
	}
	out.Reason = reasonQueued
	return out
}

// stageinMessage is the human part of the stage-in's log line.
func stageinMessage(reason string, waited time.Duration) string {
	const name = "accel-data stage-in"
	switch reason {
	case reasonQueued:
		return name + ": warm-up queued, the job stays pending until its data is warm"
	case reasonWarm:
		return fmt.Sprintf("%s: data warm after %v, the job may start", name, waited)
	case reasonPartial:
		return fmt.Sprintf("%s: warm-up settled after %v but not everything is cached, the job may start", name, waited)
	case reasonNarrowed, reasonReleaseAt:
		return fmt.Sprintf("%s: the part of the data jobs read first is warm after %v (%s), the job may start; the rest warms in the background", name, waited, reason)
	case reasonDeadline:
		return fmt.Sprintf("%s: stopped waiting after %v (StageInDeadline reached), the job may start; the warm-up continues and its prolog waits at most PrologWait", name, waited)
	case reasonDaemonDown:
		return fmt.Sprintf("%s: warmupd did not answer (tried for %v), the job may start; its prolog asks again", name, waited)
	case reasonRefused:
		return name + ": warmupd refused the request, the job may start; its prolog asks again"
	case reasonBadEnv:
		return name + ": unusable arguments or job script, the job may start; its prolog asks again"
	case reasonBadConfig:
		return name + ": bad configuration, the job may start (fix the file named in detail)"
	case reasonSignal:
		return fmt.Sprintf("%s: interrupted by a signal after %v (is burst_buffer.conf's StageInTimeout below StageInDeadline?), the job may start", name, waited)
	case reasonPanic:
		return name + ": internal error (please report it), the job may start"
	}
	return fmt.Sprintf("%s: could not talk to warmupd after %v, the job may start", name, waited)
}
