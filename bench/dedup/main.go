// Command dedupbench builds a tree with known duplicates (`gen`) and runs
// jfs-dedup, rmlint, jdupes, rdfind and fdupes on it (`run`) with a cold and
// a warm page cache, checks that they report the same duplicate groups, and
// prints wall time and peak memory with ratios to the fastest other tool.
// run.sh drives it.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dedupbench gen --dir DIR [--files N] [--max-size BYTES] | run --dir DIR --jfs-dedup BIN [--work DIR]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "run":
		err = runAll(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dedupbench:", err)
		os.Exit(1)
	}
}
