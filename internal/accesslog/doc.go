// Package accesslog parses the lines of a JuiceFS mount's `.accesslog`
// (`2026.12.01 11:35:00.598917 [uid:0,gid:0,pid:21987] read (18,65536,0,7):
// (65536) - OK <0.002150>`) without allocating, and tells which lines a
// reader must have missed (gaps.go).
//
// JuiceFS gives each reader of `.accesslog` a 10 240-line buffer and drops,
// silently, every line that does not fit. Nothing in the stream marks a
// drop, so the Gaps tracker counts what the surviving lines prove was lost:
// a read, flush or release on a file handle whose open was never seen
// although it was opened after the reader started. That count is a lower
// bound of the lines lost.
package accesslog
