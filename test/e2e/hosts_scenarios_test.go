package e2e

import "testing"

// The single-host scenarios again on the multi-host cluster: sbatch, salloc
// and srun on login, the plugin and the prologs reaching warmupd on svc over
// TCP with MUNGE, each compute host with its own munged and JuiceFS mount.

// Scenario 1: one warm-up for three jobs on three hosts; swarmup on login.
func TestHostsThreeJobsOneWarmup(t *testing.T) { useHosts(t); TestThreeJobsOneWarmup(t) }

// Scenario 2: a parent covers its child across hosts.
func TestHostsParentCoversChild(t *testing.T) { useHosts(t); TestParentCoversChild(t) }

// Scenario 3: warmupd down (nothing listens on svc's port): sbatch warns once
// and submits, the prolog does not hold the job, nothing drains.
func TestHostsDaemonDown(t *testing.T) { useHosts(t); TestDaemonDown(t) }

// Scenario 4: the prolog's deadline on a compute host.
func TestHostsPrologDeadline(t *testing.T) { useHosts(t); TestPrologDeadline(t) }

// Scenario 4b: the prolog stops early when the warm-up cannot finish in time.
func TestHostsPrologStopsEarly(t *testing.T) {
	useHosts(t)
	TestPrologStopsEarlyWhenWarmupCannotFinish(t)
}

// Scenario 5: bad input at sbatch on login, including warmupd's refusal over TCP.
func TestHostsBadInput(t *testing.T) { useHosts(t); TestBadInput(t) }

// Scenario 6: salloc and srun from login.
func TestHostsSallocAndSrun(t *testing.T) { useHosts(t); TestSallocAndSrun(t) }

// A job on three hosts: each host's prolog waits and logs once.
func TestHostsMultiNodeJob(t *testing.T) { useHosts(t); TestMultiNodeJob(t) }

// A job without --accel-data is untouched.
func TestHostsPlainJobUnaffected(t *testing.T) { useHosts(t); TestPlainJobUnaffected(t) }

// Issue 10 end to end on a compute host: accel-agent on c1 follows c1's own
// mount and reports to warmupd on svc over TCP with MUNGE.
func TestHostsAgentJobsReadOneSubdirectory(t *testing.T) {
	useHosts(t)
	TestAgentJobsReadOneSubdirectory(t)
}
