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
// on: the WAL holds at most this much of them beyond what readers pin.
const checkpointGap = 100 * time.Millisecond

// checkpointer copies the WAL back into the database file (a PASSIVE
// checkpoint, which waits for no reader and no writer) on a connection of
// its own, so that the store's one writer never does it. With SQLite's
// automatic checkpoint, the commit that took the WAL past 1 000 pages
// copied them into the file while every submission queued behind it: the
// store alone did about 1.2× the submits/s without it
// (docs/performance-submit.md). A commit pokes the checkpointer; it
// checkpoints at most every checkpointGap.
type checkpointer struct {
	db      *sql.DB
	poke    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	log     zerolog.Logger
	stopped sync.Once
}

func startCheckpointer(path string, log zerolog.Logger) (*checkpointer, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	db, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("queue: open %s for checkpoints: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	c := &checkpointer{db: db, poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), log: log}
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
		if _, err := c.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
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
