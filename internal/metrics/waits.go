package metrics

import (
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// JobStarted records a job-start answer (the prolog's first call, made at
// at): each of its datasets is a hit when answered warm, else a miss. A job
// not ready yet starts waiting; one ready at once is a wait that ended now.
// A job starting on several nodes waits from its first start.
func (m *Metrics) JobStarted(jobID uint64, at time.Time, st *api.JobStatus) {
	if m == nil || st == nil {
		return
	}
	m.mu.Lock()
	for _, d := range st.Datasets {
		warm := d.State == api.TaskWarm
		result := "miss"
		if warm {
			result = "hit"
		}
		m.jobData.WithLabelValues(result).Inc()
		h, ok := m.hits[d.Dataset]
		if !ok && len(m.hits) >= maxTracked {
			continue
		}
		h.all++
		if warm {
			h.warm++
		}
		m.hits[d.Dataset] = h
	}
	if first, ok := m.waits[jobID]; ok {
		at = first
	} else if !st.Ready && len(m.waits) < maxTracked {
		m.waits[jobID] = at
	}
	m.mu.Unlock()
	if st.Ready {
		m.released(jobID, at, readyReason(st))
	}
}

// JobAnswered records a job-status answer: a waiting job found ready ends
// its wait.
func (m *Metrics) JobAnswered(jobID uint64, st *api.JobStatus) {
	if m == nil || st == nil || !st.Ready {
		return
	}
	m.mu.Lock()
	at, ok := m.waits[jobID]
	m.mu.Unlock()
	if ok {
		m.released(jobID, at, readyReason(st))
	}
}

// JobEnded records a job's end: a job still waiting ends its wait with
// WaitEnded (its prolog gave up before the data was ready).
func (m *Metrics) JobEnded(jobID uint64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	at, ok := m.waits[jobID]
	m.mu.Unlock()
	if ok {
		m.released(jobID, at, WaitEnded)
	}
}

// released observes the wait of a job that began at and forgets the job.
func (m *Metrics) released(jobID uint64, at time.Time, reason string) {
	m.mu.Lock()
	delete(m.waits, jobID)
	m.mu.Unlock()
	m.prologWait.WithLabelValues(reason).Observe(max(0, m.now().Sub(at).Seconds()))
}

func readyReason(st *api.JobStatus) string {
	if st.Warm {
		return WaitWarm
	}
	return WaitPartial
}

// hitRatio is the share of job starts that found dataset warm (ok false
// when no job asked for it since warmupd started).
func (m *Metrics) hitRatio(dataset string) (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.hits[dataset]
	if !ok || h.all == 0 {
		return 0, false
	}
	return float64(h.warm) / float64(h.all), true
}
