// Package jfs is everything that talks to JuiceFS: a driver that runs the
// `juicefs` command line by argv (warmup, warmup --check, warmup --evict,
// clone, info --raw), an evictor that deletes a dataset's block files from
// the cache directories (EvictBlocks, JuiceFS's block layout in blocks.go),
// pure parsers for the summary lines juicefs prints (1.2 and 1.3+ forms),
// and readers for the hidden files of a mount (.config, .stats).
//
// The driver never trusts juicefs's exit status alone: `juicefs warmup` exits
// 0 even when blocks failed, so callers verify with Check; and
// `warmup --evict` removes only what its own mount wrote since it was
// mounted, so eviction that must work uses EvictBlocks. Errors are typed
// (*PathError, *ExecError, ErrNoSummary) so that a caller can choose the next
// state of a task: a PathError will not get better by retrying, an ExecError
// may.
package jfs
