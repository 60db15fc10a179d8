package munge_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/munge"
	"github.com/accel-data/accel-data/internal/testutil"
)

// A credential made and decoded through a real private munged carries the
// payload, our uid and gid, and the TTL asked for; each failure is typed by
// its MUNGE status and says what to do.
func TestEncodeDecodeThroughMunged(t *testing.T) {
	m := testutil.StartMunged(t)
	cred, err := munge.Encode([]byte("hello\n"), munge.EncodeOptions{Socket: m.Socket, TTL: 60 * time.Second})
	require.NoError(t, err)
	require.Regexp(t, `^MUNGE:.*:$`, cred)

	dec, err := munge.Decode(cred, m.Socket)
	require.NoError(t, err)
	require.Equal(t, "hello\n", string(dec.Payload))
	require.Equal(t, uint32(os.Getuid()), dec.UID)
	require.Equal(t, uint32(os.Getgid()), dec.GID)
	require.Equal(t, 60*time.Second, dec.TTL)
	require.Nil(t, dec.RestrictedTo, "made for anyone")

	_, err = munge.Decode(cred, m.Socket)
	require.ErrorIs(t, err, munge.Replayed)
	require.Contains(t, err.Error(), "already used")

	_, err = munge.Decode("MUNGE:garbage:", m.Socket)
	require.Error(t, err)
	var me *munge.Error
	require.ErrorAs(t, err, &me)
	require.NotEqual(t, munge.Success, me.Status)

	other := testutil.StartMunged(t) // another key
	_, err = munge.Decode(cred, other.Socket)
	require.ErrorIs(t, err, munge.Invalid)
	require.Contains(t, err.Error(), "same munge.key")

	// An empty payload is fine (warmupd's start-up probe).
	cred, err = munge.Encode(nil, munge.EncodeOptions{Socket: m.Socket})
	require.NoError(t, err)
	dec, err = munge.Decode(cred, m.Socket)
	require.NoError(t, err)
	require.Empty(t, dec.Payload)
}

// A credential past its TTL is Expired.
func TestExpiredCredential(t *testing.T) {
	m := testutil.StartMunged(t)
	cred, err := munge.Encode([]byte("x"), munge.EncodeOptions{Socket: m.Socket, TTL: time.Second})
	require.NoError(t, err)
	time.Sleep(2500 * time.Millisecond)
	_, err = munge.Decode(cred, m.Socket)
	require.ErrorIs(t, err, munge.Expired)
	require.Contains(t, err.Error(), "clocks")
}

// No munged on the socket: Socket status, and the message says to start it.
func TestMungedNotRunning(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	_, err := munge.Encode([]byte("x"), munge.EncodeOptions{Socket: sock})
	require.ErrorIs(t, err, munge.Socket)
	require.Contains(t, err.Error(), "start munged")
	_, err = munge.Decode("MUNGE:x:", sock)
	require.ErrorIs(t, err, munge.Socket)
}

// A credential restricted to another uid is refused to us, even as root:
// only warmupd's uid (ServerUID) can read the clients' credentials.
func TestUIDRestriction(t *testing.T) {
	m := testutil.StartMunged(t)
	other := uint32(os.Getuid() + 4242)
	cred, err := munge.Encode([]byte("x"), munge.EncodeOptions{Socket: m.Socket, UIDRestriction: &other})
	require.NoError(t, err)
	_, err = munge.Decode(cred, m.Socket)
	require.ErrorIs(t, err, munge.Unauthorized)
	require.Contains(t, err.Error(), "ServerUID")

	// Made for our own uid: decoded, and the restriction is read back.
	own := uint32(os.Getuid())
	cred, err = munge.Encode([]byte("x"), munge.EncodeOptions{Socket: m.Socket, UIDRestriction: &own})
	require.NoError(t, err)
	dec, err := munge.Decode(cred, m.Socket)
	require.NoError(t, err)
	require.NotNil(t, dec.RestrictedTo)
	require.Equal(t, own, *dec.RestrictedTo)
}
