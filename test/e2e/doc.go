// Package e2e holds accel-data's Slurm end-to-end tests: a real private
// cluster (munged, slurmctld, three slurmd from test/slurm-cluster/up.sh),
// the SPANK plugin built by `make -C spank`, slurm-prolog as Prolog/Epilog, a
// real warmupd and the JuiceFS stand-in (or a real client when
// ACCEL_TEST_JUICEFS is set), driven with real sbatch, salloc and srun.
package e2e
