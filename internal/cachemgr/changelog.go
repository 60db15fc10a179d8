package cachemgr

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
)

// ChangelogDriver is the part of pkg/jfs the changelog watcher uses.
type ChangelogDriver interface {
	// Changelog returns the volume's changelog entries from version from
	// (jfs.ErrChangelogOff when the volume does not keep one).
	Changelog(ctx context.Context, metaURL string, from int64) ([]jfs.ChangeEntry, error)
	// InfoInode returns an inode's path relative to the volume's root.
	InfoInode(ctx context.Context, ino uint64) (string, int64, error)
}

// ChangelogConfig configures the changelog watcher.
type ChangelogConfig struct {
	// MetaURL is the volume's metadata URL, as `juicefs changelog` takes it
	// (a password goes in META_PASSWORD, not here); empty: no watcher.
	MetaURL string
	// Mount is where the volume's root is mounted: the changelog names
	// inodes, `juicefs info --inode` turns them into paths under it.
	Mount string
	// Interval between two reads of the changelog (default 30s). When the
	// volume keeps no changelog, it is asked again every 10 intervals.
	Interval time.Duration
	// MaxLookups bounds the inodes looked up per read (default 256); the
	// changes of the others are counted as unresolved.
	MaxLookups int
}

// Changelog turns the JuiceFS metadata changelog into stale events: entries
// created, removed or renamed under a warm dataset, or files written there,
// after the dataset's last check mark it stale (api.StaleChangelog), and
// Stale (Manager.Stale) hears of it so the dataset is checked again.
type Changelog struct {
	cfg    ChangelogConfig
	store  *queue.Store
	driver ChangelogDriver
	log    zerolog.Logger
	now    func() time.Time
	// Stale is told the datasets a read marked stale (nil: nobody).
	Stale func(paths ...string)

	off bool // the last read found no changelog
}

// NewChangelog builds a changelog watcher.
func NewChangelog(cfg ChangelogConfig, store *queue.Store, driver ChangelogDriver, log zerolog.Logger, now func() time.Time) *Changelog {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultChangelogInterval
	}
	if cfg.MaxLookups <= 0 {
		cfg.MaxLookups = 256
	}
	if now == nil {
		now = time.Now
	}
	return &Changelog{cfg: cfg, store: store, driver: driver, log: log, now: now}
}

// DefaultChangelogInterval is ChangelogConfig.Interval's default.
const DefaultChangelogInterval = 30 * time.Second

// ChangelogRead is what one read of the changelog found.
type ChangelogRead struct {
	Entries    int      // entries read
	Changes    int      // entries that changed a file set or a file's data
	Unresolved int      // of those, the ones whose inodes could not be looked up
	Marked     []string // the warm or warming datasets marked stale
	Version    int64    // the last version read (the cursor)
	// Deferred: the read used up its MaxLookups before its last entry; the
	// cursor stops before the first entry it could not resolve, and the
	// next read starts there.
	Deferred bool
}

// volumeKey is the metadata URL without its password: the cursor's key.
func volumeKey(meta string) string {
	u, err := url.Parse(meta)
	if err != nil || u.User == nil {
		return meta
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// Run reads the changelog every Interval until ctx ends.
func (c *Changelog) Run(ctx context.Context) {
	for {
		wait := c.cfg.Interval
		if _, err := c.Read(ctx); errors.Is(err, jfs.ErrChangelogOff) {
			wait = 10 * c.cfg.Interval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Read reads the changelog from the stored cursor, marks stale the warm
// datasets it changed after their last check, and moves the cursor.
func (c *Changelog) Read(ctx context.Context) (ChangelogRead, error) {
	var r ChangelogRead
	key := volumeKey(c.cfg.MetaURL)
	cursor, err := c.store.ChangelogCursor(ctx, key)
	if err != nil {
		return r, err
	}
	r.Version = cursor
	es, err := c.driver.Changelog(ctx, c.cfg.MetaURL, cursor+1)
	switch {
	case errors.Is(err, jfs.ErrChangelogOff):
		if !c.off {
			c.log.Warn().Err(err).Str("volume", key).Msg("the volume keeps no metadata changelog: files created or removed under warm datasets are found by the periodic checks only; " +
				"enable it with `juicefs config META-URL --changelog`, or set ChangelogMeta empty")
		}
		c.off = true
		return r, err
	case err != nil && len(es) == 0:
		c.log.Warn().Err(err).Str("volume", key).Msg("read the metadata changelog")
		return r, err
	case err != nil: // some lines could not be parsed: the others count
		c.log.Warn().Err(err).Str("volume", key).Msg("read the metadata changelog")
	}
	switch {
	case c.off:
		c.log.Info().Str("volume", key).Msg("the volume's metadata changelog is on: reading it")
		c.off = false
	}
	if len(es) == 0 {
		return r, nil
	}
	warm, err := c.store.WatchedDatasets(ctx)
	if err != nil {
		return r, err
	}
	byPath := make(map[string]queue.WatchedDataset, len(warm))
	for _, w := range warm {
		byPath[w.Path] = w
	}
	res := &resolver{c: c, ctx: ctx, dirs: map[uint64]string{1: ""}}
	detail := map[string]string{}
	when := map[string]time.Time{}
	var order []string
	for _, e := range es {
		if e.Ver <= cursor {
			continue // a replayed entry (TKV rewind): already read
		}
		ch, ok := e.Change()
		if !ok {
			r.Entries++
			r.Version = max(r.Version, e.Ver)
			continue
		}
		paths, ok := res.paths(ch)
		if !ok && res.exhausted && r.Entries > 0 {
			// Out of look-ups: this entry and the rest wait for the next
			// read (unless it is the read's first: the cursor must move).
			r.Deferred = true
			break
		}
		r.Entries++
		r.Version = max(r.Version, e.Ver)
		r.Changes++
		if !ok {
			r.Unresolved++ // an inode that is gone: nothing of it can be warm
		}
		for _, p := range paths {
			for _, ds := range watchedAncestors(byPath, p) {
				// A change after the last check began: that check's walk
				// may have passed the changed place before the change.
				if detail[ds.Path] != "" || ds.Stale || !e.Time.After(ds.CheckStarted) {
					continue
				}
				detail[ds.Path] = fmt.Sprintf("%s %s (changelog version %d)", e.Op, p, e.Ver)
				when[ds.Path] = e.Time
				order = append(order, ds.Path)
			}
		}
	}
	if len(order) > 0 {
		marks := make([]queue.StaleMark, len(order))
		for i, p := range order {
			marks[i] = queue.StaleMark{Path: p, Detail: detail[p], At: when[p]}
		}
		if r.Marked, err = c.store.MarkStale(ctx, api.StaleChangelog, marks, c.now()); err != nil {
			return r, err
		}
	}
	if len(r.Marked) > 0 {
		c.log.Info().Strs("datasets", r.Marked).Msg("the metadata changelog shows warm or warming datasets changed since their last check began: marked stale, to be checked again")
		if c.Stale != nil {
			c.Stale(r.Marked...)
		}
	}
	if r.Unresolved > 0 {
		c.log.Debug().Int("unresolved", r.Unresolved).Msg("changelog entries whose inodes could not be looked up (gone)")
	}
	if r.Deferred {
		c.log.Debug().Int64("version", r.Version).Int("lookups", c.cfg.MaxLookups).Msg("changelog read stopped at its inode look-up bound; the next read goes on from here")
	}
	if r.Version > cursor {
		if err := c.store.SetChangelogCursor(ctx, key, r.Version, c.now()); err != nil {
			return r, err
		}
	}
	return r, nil
}

// watchedAncestors are the watched (warm or warming) datasets p is in (p
// itself and its parents: a dataset may hold another one), innermost first.
func watchedAncestors(byPath map[string]queue.WatchedDataset, p string) []queue.WatchedDataset {
	var out []queue.WatchedDataset
	for q := p; ; q = path.Dir(q) {
		if w, ok := byPath[q]; ok {
			out = append(out, w)
		}
		if q == "/" || q == "." {
			return out
		}
	}
}

// resolver turns a change's inodes into absolute paths under the mount,
// looking each inode up once per read, at most MaxLookups of them.
type resolver struct {
	c       *Changelog
	ctx     context.Context
	dirs    map[uint64]string // inode → path relative to the volume root ("": the root)
	failed  map[uint64]bool
	lookups int
	// exhausted: an inode was not looked up because the read's MaxLookups
	// were used up (not because it is gone).
	exhausted bool
}

func (r *resolver) rel(ino uint64) (string, bool) {
	if p, ok := r.dirs[ino]; ok {
		return p, true
	}
	if r.failed[ino] {
		return "", false
	}
	if r.lookups >= r.c.cfg.MaxLookups {
		r.exhausted = true
		return "", false
	}
	r.lookups++
	cctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	p, _, err := r.c.driver.InfoInode(cctx, ino)
	cancel()
	if err != nil {
		if r.failed == nil {
			r.failed = map[uint64]bool{}
		}
		r.failed[ino] = true
		return "", false
	}
	p = strings.Trim(p, "/")
	r.dirs[ino] = p
	return p, true
}

// paths returns the absolute paths a change concerns; false when some of
// its inodes could not be looked up.
func (r *resolver) paths(ch jfs.Change) ([]string, bool) {
	var out []string
	all := true
	abs := func(rel string) string { return path.Join(r.c.cfg.Mount, rel) }
	for _, n := range ch.Names {
		dir, ok := r.rel(n.Dir)
		if !ok {
			all = false
			continue
		}
		out = append(out, abs(path.Join(dir, n.Name)))
	}
	if ch.Inode != 0 {
		if f, ok := r.rel(ch.Inode); ok {
			out = append(out, abs(f))
		} else {
			all = false
		}
	}
	return out, all
}
