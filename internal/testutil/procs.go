package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Argv reads a process's arguments from its cmdline file
// (/proc/PID/cmdline): the NUL-separated arguments, or, where the program
// rewrote them into one string (a real `juicefs mount -d` daemon does),
// that string split at blanks. nil when the file cannot be read or is empty.
func Argv(cmdline string) []string {
	b, err := os.ReadFile(cmdline)
	if err != nil {
		return nil
	}
	s := strings.TrimRight(string(b), "\x00")
	if strings.Contains(s, "\x00") {
		return strings.Split(s, "\x00")
	}
	return strings.Fields(s)
}

// Processes are the pids of the running processes whose arguments (Argv)
// match accepts.
func Processes(match func(argv []string) bool) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process
		}
		if argv := Argv(filepath.Join("/proc", e.Name(), "cmdline")); argv != nil && match(argv) {
			pids = append(pids, pid)
		}
	}
	return pids
}
