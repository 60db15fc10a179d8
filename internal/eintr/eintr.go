// Package eintr calls a system call again when a signal interrupted it
// (EINTR), as the os package does for the calls it makes itself. Code that
// calls golang.org/x/sys/unix directly needs it: on a FUSE mount an open,
// stat or read waits for the mount process, and a signal (the Go runtime's
// own preemption signal included) can interrupt the wait.
package eintr

import "golang.org/x/sys/unix"

// Retry calls f until it fails with something other than EINTR, and
// returns its last result.
func Retry[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err != unix.EINTR {
			return v, err
		}
	}
}

// Do is Retry for a call that returns only an error.
func Do(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
