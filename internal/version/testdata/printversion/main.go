// Command printversion prints version.Line, for the Makefile stamping test.
package main

import (
	"fmt"

	"github.com/accel-data/accel-data/internal/version"
)

func main() { fmt.Println(version.Line("printversion")) }
