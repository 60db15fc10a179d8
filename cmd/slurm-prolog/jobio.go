package main

import (
	"context"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// jobIOWait bounds the epilog's one question about the job's I/O.
const jobIOWait = time.Second

// nodeIO asks warmupd what accel-agent reported about the job on this node
// (nil when nothing was, or warmupd does not answer within jobIOWait).
func nodeIO(ctx context.Context, c *api.Client, job uint64, node string) *api.JobNodeIO {
	ctx, cancel := context.WithTimeout(ctx, jobIOWait)
	defer cancel()
	r, err := c.JobIO(ctx, job)
	if err != nil {
		return nil
	}
	for i := range r.Nodes {
		if r.Nodes[i].Node == node {
			return &r.Nodes[i]
		}
	}
	return nil
}

// ioSummary is the epilog line's "io" field: "read 2.0 GiB in 120 files, hit
// ratio 99.1 %, 18 MiB from object storage" ("so far" until the agent's
// last report for the job on this node arrived).
func ioSummary(n *api.JobNodeIO) string {
	s := fmt.Sprintf("read %d B in %d files", n.Bytes, n.Files)
	if n.HitRatio >= 0 {
		s += fmt.Sprintf(", hit ratio %.1f%%", n.HitRatio*100)
	}
	s += fmt.Sprintf(", %d B from object storage", n.GetBytes)
	if !n.Final {
		s += " (so far)"
	}
	return s
}
