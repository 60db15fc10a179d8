package testutil

import (
	"os"
	"testing"
)

// RequireRoot fails the test (never skips it) unless it runs as root; what
// says what the test does that needs root.
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test %s and must run as root (CI does)", what)
	}
}
