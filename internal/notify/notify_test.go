package notify

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func fired(s *Sub) bool {
	select {
	case <-s.C:
		return true
	default:
		return false
	}
}

// Only the subscribers of a notified key wake, once however often it is
// notified; a cancelled subscription is forgotten.
func TestHubWakesOnlyTheKeysSubscribers(t *testing.T) {
	var h Hub
	a := h.Subscribe("/jfs/a", JobKey(1))
	b := h.Subscribe("/jfs/b")
	require.Equal(t, 2, h.Waiters())
	h.Notify("/jfs/a")
	h.Notify("/jfs/a")
	require.True(t, fired(a))
	require.False(t, fired(a), "one pending wake-up")
	require.False(t, fired(b))
	h.Notify(JobKey(1))
	require.True(t, fired(a))
	h.NotifyAll()
	require.True(t, fired(a))
	require.True(t, fired(b))
	h.Cancel(a)
	h.Cancel(b)
	require.Zero(t, h.Waiters())
	require.Empty(t, h.subs, "no key is kept without subscribers")
	h.Notify("/jfs/a")
	require.False(t, fired(a))

	var nilHub *Hub
	s := nilHub.Subscribe("x")
	nilHub.Notify("x")
	nilHub.NotifyAll()
	nilHub.Cancel(s)
	require.False(t, fired(s))
}
