package main

/*
#include <malloc.h>

// keep_malloc_heap sets glibc's mmap and trim thresholds; 0 when the C
// library has no such settings (musl) or refuses them.
static int keep_malloc_heap(int mmap_threshold, int trim_threshold) {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
	return mallopt(M_MMAP_THRESHOLD, mmap_threshold) && mallopt(M_TRIM_THRESHOLD, trim_threshold);
#else
	return 0;
#endif
}
*/
import "C"

import "errors"

// glibc's malloc, which SQLite allocates from, hands the free top of a heap
// back to the kernel once 128 KiB of it are free, and maps each block over
// a dynamic threshold afresh. A reader connection's page cache (up to
// 16 MiB, which the planner's read of every dataset fills each round) is
// emptied by its first read after any commit, and filled again: under a
// stream of submits warmupd took 8 000–12 000 page faults per second of its
// CPU, about 6 % of that CPU in the kernel's fault handling
// (docs/performance-submit.md). Keeping freed memory in the process cuts
// them to about 1 300. What stays mapped is what SQLite used at its peak
// (its caches: 16 MiB per connection, five connections), in each of the
// malloc arenas the threads that ran SQLite used.
const (
	mallocTrimThreshold = 128 << 20 // free memory kept at the top of a heap
	mallocMmapThreshold = 32 << 20  // blocks above it are mapped on their own (glibc's largest on 64-bit)
)

// keepMallocHeap sets glibc's trim and mmap thresholds (mallopt(3)); an
// error when the C library refuses them (not glibc), which costs only speed.
func keepMallocHeap() error {
	if C.keep_malloc_heap(C.int(mallocMmapThreshold), C.int(mallocTrimThreshold)) == 0 {
		return errors.New("mallopt refused the trim and mmap thresholds (not glibc?): freed memory goes back to the kernel as usual")
	}
	return nil
}
