package queue

import (
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// checkpointGap is the least time between two checkpoints while writes go
// on.
const checkpointGap = 100 * time.Millisecond

// walResetFrames is the WAL length (in pages, 16 MiB of 4 KiB) past which a
// checkpoint finishes while holding the writer, so that the WAL starts over.
const walResetFrames = 4000

// walSizeLimit is what the WAL file is cut back to when it starts over.
const walSizeLimit = 64 << 20

// checkpointer copies the WAL back into the database file (a PASSIVE
// checkpoint, which waits for no reader and no writer) on a connection of
// its own, so that the store's one writer does not do the copying. With
// SQLite's automatic checkpoint, the commit that took the WAL past 1 000
// pages copied them into the file while every submission queued behind it
// (docs/performance-submit.md). A commit pokes the checkpointer; it
// checkpoints at most every checkpointGap.
//
// SQLite starts the WAL over only when a write transaction begins after
// every frame was copied. Beside a writer that never pauses that is never
// the case, and the WAL would grow without bound (622 MiB in
// TestWALStaysBoundedUnderContinuousWrites). So once the WAL is past
// walResetFrames, a second checkpoint runs while holding the writer: only
// what was committed during the first is left to copy, and the next
// transaction starts the WAL over.
type checkpointer struct {
	db      *sql.DB
	hold    func() (release func(), ok bool) // takes the writer; false once the store closes
	poke    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	log     zerolog.Logger
	stopped sync.Once
}

func startCheckpointer(path string, hold func() (func(), bool), log zerolog.Logger) (*checkpointer, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	db, err := openPool(path, q, 1)
	if err != nil {
		return nil, fmt.Errorf("queue: open %s for checkpoints: %w", path, err)
	}
	c := &checkpointer{db: db, hold: hold, poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), log: log}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.poke:
		}
		if err := c.checkpoint(); err != nil {
			c.log.Warn().Err(err).Msg("WAL checkpoint failed; the next commit asks again")
		}
		t := time.NewTimer(checkpointGap)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// checkpoint copies the WAL into the database file, and finishes with the
// writer held when the WAL is long (see checkpointer).
func (c *checkpointer) checkpoint() error {
	frames, err := c.passive()
	if err != nil || frames < walResetFrames {
		return err
	}
	release, ok := c.hold()
	if !ok {
		return nil // the store is closing; its last connection checkpoints
	}
	defer release()
	_, err = c.passive()
	return err
}

// passive runs one PASSIVE checkpoint and returns the WAL's length in
// frames.
func (c *checkpointer) passive() (frames int, err error) {
	var busy, copied int
	err = c.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	return frames, err
}

// notify asks for a checkpoint (after a commit); it never blocks.
func (c *checkpointer) notify() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// close stops the checkpointer and closes its connection (a commit after
// that pokes no one). The last connection to close, the writer's,
// checkpoints what is left.
func (c *checkpointer) close() (err error) {
	c.stopped.Do(func() {
		close(c.stop)
		<-c.done
		err = c.db.Close()
	})
	return err
}
