// Package agent is accel-agent's core: it follows a JuiceFS mount's
// `.accesslog` (internal/accesslog), maps each operation's pid to a Slurm
// job (procjob.go), maps inodes to paths from the lookups it sees
// (inodes.go), adds up what each job read per dataset and subdirectory
// (aggregate.go), snapshots the mount's `.stats` per job, and reports to
// warmupd through pkg/api (report.go), buffering across an outage.
package agent
