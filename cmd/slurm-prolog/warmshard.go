package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/internal/shardjob"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/shard"
)

// warmShardCmd is the subcommand an array task of a warm-up job runs: its
// batch script's interpreter line is `#!SLURM-PROLOG warm-shard`, so Slurm
// runs `slurm-prolog warm-shard SCRIPT SPOOLDIR` with no shell.
const warmShardCmd = "warm-shard"

// reportFor is how long the runner keeps trying to report its shard (a
// warmupd restart takes seconds).
const reportFor = 60 * time.Second

// warmShard warms shard SLURM_ARRAY_TASK_ID of the run in the spool
// directory (the last argument) on this node's mount with
// `juicefs warmup -f`, reports it to warmupd (root or SlurmdUser; over TCP
// with MUNGE per Server= of the configuration file), and returns the exit
// status: 0 when the shard was warmed and reported; 1 otherwise, so that
// Slurm records the array task as failed (warmupd retries the shard).
// Unlike the prolog, it is a job, not a node's prolog: failing is safe.
func warmShard(args []string, getenv func(string) string, stderr io.Writer) exitcode.Code {
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, NoColor: true, TimeFormat: time.RFC3339}).With().Timestamp().Logger()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if len(args) == 0 {
		log.Error().Msg("warm-shard: usage: slurm-prolog warm-shard [SCRIPT] SPOOLDIR (run by sbatch from warmupd's job array)")
		return exitcode.Usage
	}
	dir := args[len(args)-1]
	idx, err := strconv.Atoi(getenv("SLURM_ARRAY_TASK_ID"))
	if err != nil {
		log.Error().Msg("warm-shard: SLURM_ARRAY_TASK_ID is not set: run only as a task of warmupd's job array")
		return exitcode.Usage
	}
	var job shardjob.Job
	b, err := os.ReadFile(filepath.Join(dir, shardjob.JobFile))
	if err == nil {
		err = json.Unmarshal(b, &job)
	}
	if err != nil {
		log.Error().Err(err).Str("spool", dir).Msg("warm-shard: cannot read the job description (is the spool directory on a file system this node sees?)")
		return exitcode.Failure
	}
	// A batch job's environment is its submitter's (warmupd's, on the service
	// node): its ACCEL_DATA_CONF names a file of that host. The runner finds
	// this node's file by SLURM_CONF's directory or the default path.
	o, err := parseOptions(nil, func(k string) string {
		if k == config.PathEnv {
			return ""
		}
		return getenv(k)
	})
	if err != nil {
		log.Error().Err(err).Msg("warm-shard: configuration")
		return exitcode.Failure
	}
	node := getenv("SLURMD_NODENAME")
	rep := api.ShardReport{TaskID: job.TaskID, Run: job.Run, Index: idx, Node: node, JobID: getenv("SLURM_ARRAY_JOB_ID")}
	files, err := shard.ReadList(filepath.Join(dir, shardjob.ListFile(idx)))
	if err == nil {
		d := &jfs.Driver{Binary: job.JuiceFS, Threads: job.Threads}
		var sum *jfs.Summary
		start := time.Now()
		if sum, err = d.Warmup(ctx, files); err == nil {
			rep.Files, rep.Bytes = sum.Files, sum.Bytes
			log.Info().Int("shard", idx).Str("dataset", job.Dataset).Str("node", node).Int64("bytes", sum.Bytes).
				Dur("took", time.Since(start).Round(time.Millisecond)).Msg("warm-shard: shard warmed")
		}
	}
	rep.OK = err == nil
	if err != nil {
		rep.Error = err.Error()
		log.Warn().Err(err).Int("shard", idx).Str("dataset", job.Dataset).Msg("warm-shard: shard failed")
	}
	c := &api.Client{Socket: o.socket, Server: o.server, MungeSocket: o.mungeSocket, ServerUID: o.serverUID}
	rctx, cancel := context.WithTimeout(context.Background(), reportFor)
	defer cancel()
	for {
		err := c.ReportShard(rctx, rep)
		if err == nil {
			break
		}
		var se *api.StatusError
		if (errors.As(err, &se) && se.Code != 503) || rctx.Err() != nil { // warmupd answered no, or time is up
			log.Warn().Err(err).Int("shard", idx).Msg("warm-shard: could not report the shard to warmupd")
			return exitcode.Failure
		}
		time.Sleep(time.Second)
	}
	if !rep.OK {
		return exitcode.Failure
	}
	return exitcode.OK
}
