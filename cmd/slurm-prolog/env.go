package main

import (
	"fmt"
	"strconv"
	"strings"
)

// mode says whether slurmd runs us as Prolog or Epilog.
type mode string

const (
	modeProlog mode = "prolog_slurmd"
	modeEpilog mode = "epilog_slurmd"
)

// jobEnv is what slurmd and the SPANK plugin tell us through the environment.
type jobEnv struct {
	Mode     mode
	JobID    uint64
	UID      uint32
	Node     string
	Token    string
	Paths    []string
	ExitCode int
}

// parseEnv reads the prolog/epilog environment. A job without
// SPANK_ACCEL_DATA yields no paths and no error: nothing to do.
func parseEnv(getenv func(string) string) (jobEnv, error) {
	var e jobEnv
	switch m := mode(strings.TrimSpace(getenv("SLURM_SCRIPT_CONTEXT"))); m {
	case modeProlog, modeEpilog:
		e.Mode = m
	default:
		return e, fmt.Errorf("SLURM_SCRIPT_CONTEXT=%q: expected prolog_slurmd or epilog_slurmd (install slurm-prolog as Prolog= and Epilog= in slurm.conf)", string(m))
	}
	for _, p := range strings.Split(getenv("SPANK_ACCEL_DATA"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			e.Paths = append(e.Paths, p)
		}
	}
	if len(e.Paths) == 0 {
		return e, nil
	}
	id, err := strconv.ParseUint(strings.TrimSpace(getenv("SLURM_JOB_ID")), 10, 64)
	if err != nil || id == 0 {
		return e, fmt.Errorf("SLURM_JOB_ID=%q is not a job id", getenv("SLURM_JOB_ID"))
	}
	e.JobID = id
	uid, err := strconv.ParseUint(strings.TrimSpace(getenv("SLURM_JOB_UID")), 10, 32)
	if err != nil {
		return e, fmt.Errorf("SLURM_JOB_UID=%q is not a uid", getenv("SLURM_JOB_UID"))
	}
	e.UID = uint32(uid)
	e.Node = strings.TrimSpace(getenv("SLURMD_NODENAME"))
	e.Token = strings.TrimSpace(getenv("SPANK_ACCEL_TOKEN"))
	if e.Mode == modeEpilog {
		if s := strings.TrimSpace(getenv("SLURM_JOB_EXIT_CODE")); s != "" {
			// Slurm passes the wait(2) status; a bad value is reported as -1, never fatal.
			if c, err := strconv.Atoi(s); err == nil {
				e.ExitCode = c
			} else {
				e.ExitCode = -1
			}
		}
	}
	return e, nil
}
