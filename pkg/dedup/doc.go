// Package dedup finds duplicate files and replaces large duplicates with
// JuiceFS clones.
//
// Scanning never changes anything. It walks one or more trees in parallel
// through an FS (or reads a `juicefs dump` stream), partitions regular files
// by size into shards keyed by the size's low digits (spilling shards to disk
// past a memory limit), compares the first KiB of same-size files, then reads
// the remaining candidates in lockstep, byte by byte, computing a SHA-256 per
// group; large groups are first split by SHA-256. Only files proven equal
// byte for byte are reported as duplicates. Files whose JuiceFS slice lists
// are equal are reported as already shared without reading their data.
//
// Apply replaces each duplicate at or above a size threshold with
// `juicefs clone -p ORIGINAL dir/.name.accel-dedup.tmp` followed by an
// atomic rename, after re-verifying metadata and content, keeping the
// replaced file's owner, mode, times and extended attributes, and recording
// every step in a journal so an interrupted run can be resumed.
package dedup
