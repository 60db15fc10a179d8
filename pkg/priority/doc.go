// Package priority computes accel-data's explainable warm-up priority: like
// Slurm's multifactor plugin, a weighted sum of factors that are each
// normalised to [0,1] (the age factor grows by one per AgeUnit so that nothing
// starves). Compute is a pure function of recorded facts and the time, so the
// daemon, `swarmup prio` and the trace-driven simulator get the same numbers,
// each with a per-factor breakdown.
package priority
