package main

import (
	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/api"
)

// Why the prolog, epilog or stage-in stopped (the "reason" field of its log
// line).
const (
	reasonWarm       = "warm"                   // every dataset is warm
	reasonPartial    = "partial"                // every dataset is settled, some not fully warm
	reasonTimeout    = "timeout"                // PrologWait passed; the warm-up goes on in the background
	reasonETA        = "eta"                    // the measured speed says the data cannot be warm within PrologWait
	reasonNarrowed   = string(api.HotNarrowed)  // what jobs read is warm (narrowed warm-up); the rest warms on
	reasonReleaseAt  = string(api.HotReleaseAt) // the first ReleaseAt of the data is warm; the rest warms on
	reasonEnded      = "ended"                  // epilog: warmupd was told the job ended
	reasonQueued     = "queued"                 // stage-in start: warmupd queued the job's data
	reasonDeadline   = "deadline"               // stage-in wait: StageInDeadline passed; the job goes on, its prolog waits no more than PrologWait
	reasonDaemonDown = "daemon-down"            // nothing answered on the socket
	reasonRefused    = "refused"                // warmupd answered 4xx
	reasonError      = "error"                  // any other failure talking to warmupd
	reasonBadEnv     = "bad-env"                // the environment slurmd gave us is unusable
	reasonBadConfig  = "bad-config"             // the configuration file or flags are wrong
	reasonSignal     = "interrupted"            // slurmd sent a signal (e.g. PrologEpilogTimeout)
	reasonPanic      = "internal-error"
)

// reasonLevels is every reason once with the level of its log line: info
// when the wait ended as it is meant to, warn when something is wrong (the
// job goes on either way).
var reasonLevels = map[string]zerolog.Level{
	reasonWarm:       zerolog.InfoLevel,
	reasonPartial:    zerolog.InfoLevel,
	reasonTimeout:    zerolog.InfoLevel,
	reasonETA:        zerolog.InfoLevel,
	reasonNarrowed:   zerolog.InfoLevel,
	reasonReleaseAt:  zerolog.InfoLevel,
	reasonEnded:      zerolog.InfoLevel,
	reasonQueued:     zerolog.InfoLevel,
	reasonDeadline:   zerolog.InfoLevel,
	reasonDaemonDown: zerolog.WarnLevel,
	reasonRefused:    zerolog.WarnLevel,
	reasonError:      zerolog.WarnLevel,
	reasonBadEnv:     zerolog.WarnLevel,
	reasonBadConfig:  zerolog.WarnLevel,
	reasonSignal:     zerolog.WarnLevel,
	reasonPanic:      zerolog.WarnLevel,
}

// reasonLevel is the level of reason's log line (warn for a reason not in
// reasonLevels).
func reasonLevel(reason string) zerolog.Level {
	if l, ok := reasonLevels[reason]; ok {
		return l
	}
	return zerolog.WarnLevel
}
