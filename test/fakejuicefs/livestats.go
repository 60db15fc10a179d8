package main

import (
	"sync"
	"time"
)

// statsEvery is how often a running warm-up records its cache writes in
// .stats: a real mount's counters move while it works (warmupd reports a
// warm-up's progress from them), not only when the command ends.
const statsEvery = time.Second

// liveStats records, every statsEvery until stop is called, the cache
// writes counted so far in *written (guarded by mu) in .stats. stop returns
// what it recorded, for the caller to leave out of its final record.
func (v *volume) liveStats(mu *sync.Mutex, written *cacheCounters) (stop func() (writes, writeBytes int64)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var recW, recB int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(statsEvery)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
			}
			mu.Lock()
			w, b := written.Writes-recW, written.WriteBytes-recB
			mu.Unlock()
			if w == 0 && b == 0 {
				continue
			}
			if err := v.withMeta(func(m *metaState) error { return v.writeStats(m, cacheCounters{Writes: w, WriteBytes: b}) }); err != nil {
				mountLog(v.mount, "update .stats: %s", err)
				continue
			}
			recW, recB = recW+w, recB+b
		}
	}()
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		return recW, recB
	}
}
