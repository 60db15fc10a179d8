package main

import (
	"context"

	"github.com/accel-data/accel-data/pkg/api"
)

// accessColumns are prio's density and hitratio columns: each dataset's
// read density and byte hit ratio from the access history (GET
// /v1/datasets), fetched only when shown (fetch false: the columns exist
// for --format's list but print the unknown mark).
func accessColumns(ctx context.Context, c *api.Client, fetch bool) []column[api.PriorityEntry] {
	byPath := map[string]api.Dataset{}
	if fetch {
		if r, err := c.Datasets(ctx); err == nil {
			for _, d := range r.Datasets {
				byPath[d.Path] = d
			}
		}
	}
	return []column[api.PriorityEntry]{
		{name: "density", header: "DENSITY", value: func(cc cellCtx, e api.PriorityEntry) string { return optRatio(cc, byPath[e.Dataset].ReadDensity) }},
		{name: "hitratio", header: "HITRATIO", value: func(cc cellCtx, e api.PriorityEntry) string { return optRatio(cc, byPath[e.Dataset].HitRatio) }},
	}
}
