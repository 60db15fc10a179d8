package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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

// ProcStat is /proc/PID/stat's fields from the state on, numbered as in
// proc(5) less 3 (the pid and the name, which may hold blanks, left out):
// [0] the state, [1] the parent's pid, [2] the process group, [7] minor
// faults, [11] and [12] user and system CPU ticks. nil when the process is
// gone.
func ProcStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return nil
	}
	return strings.Fields(s[i+2:])
}

// Running tells whether process pid exists and has not exited (a zombie
// has).
func Running(pid int) bool {
	f := ProcStat(pid)
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// ProcCPU is the user and system CPU time process pid has used so far
// (ProcStat's ticks of USER_HZ, 100 a second on Linux); 0 when it is gone.
func ProcCPU(pid int) time.Duration {
	f := ProcStat(pid)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100
}
