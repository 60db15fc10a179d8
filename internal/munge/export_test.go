package munge

import (
	"testing"
	"time"
)

// ShortenSocketTimeout sets the socket timeout to d for one test, so that a
// test of a silent peer does not wait libmunge's 2 s five times.
func ShortenSocketTimeout(t testing.TB, d time.Duration) {
	old := socketTimeout
	socketTimeout = d
	t.Cleanup(func() { socketTimeout = old })
}
