//go:build race

package testutil

// raceEnabled: the tests run under -race, so the binaries they start are
// built with -race too, and a data race in warmupd fails the test.
const raceEnabled = true
