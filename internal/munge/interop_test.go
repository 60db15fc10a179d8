package munge_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/munge"
	"github.com/accel-data/accel-data/internal/testutil"
)

// These tests pin the pure-Go client against the real MUNGE tools: what the
// `munge` CLI makes, Decode reads as `unmunge` does; what Encode makes,
// `unmunge` reads; a bad credential gets the same status and message.

// unmunged is what `unmunge -N` prints: its metadata, the payload, and its
// exit code (the MUNGE status) and error message.
type unmunged struct {
	meta    map[string]string
	payload []byte
	status  int
	message string
}

func unmunge(t *testing.T, socket, cred string) unmunged {
	t.Helper()
	dir := t.TempDir()
	metaFile, payloadFile := filepath.Join(dir, "meta"), filepath.Join(dir, "payload")
	cmd := exec.Command("unmunge", "-S", socket, "-N", "-m", metaFile, "-o", payloadFile)
	cmd.Stdin = strings.NewReader(cred)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	u := unmunged{meta: map[string]string{}}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "unmunge (install munge: scripts/deps.sh): %s", stderr.String())
		u.status = ee.ExitCode()
	}
	u.message = strings.TrimSpace(strings.TrimPrefix(stderr.String(), "unmunge: Error: "))
	if meta, err := os.ReadFile(metaFile); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(meta))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
				u.meta[k] = strings.TrimSpace(v)
			}
		}
	}
	u.payload, _ = os.ReadFile(payloadFile)
	return u
}

func mungeCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("munge", args...).Output()
	require.NoError(t, err, "munge %v", args)
	return strings.TrimSpace(string(out))
}

func num(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// A credential made by the `munge` CLI decodes to what `unmunge` prints of
// it: payload, uid, gid, TTL and uid restriction. unmunge, second, sees it
// replayed: Decode really consumed it at munged.
func TestDecodeMadeByMungeCLI(t *testing.T) {
	m := testutil.StartMunged(t)
	input := filepath.Join(t.TempDir(), "input")
	require.NoError(t, os.WriteFile(input, []byte("from a file\x00with a NUL\n"), 0o644))
	own := strconv.Itoa(os.Getuid())
	for _, args := range [][]string{
		{"-n"},
		{"-s", "a payload"},
		{"-i", input, "-t", "77"},
		{"-s", "restricted", "-t", "120", "-u", own},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cred := mungeCLI(t, append([]string{"-S", m.Socket}, args...)...)
			dec, err := munge.Decode(cred, m.Socket)
			require.NoError(t, err)

			u := unmunge(t, m.Socket, cred)
			require.Equal(t, int(munge.Replayed), u.status, u.message)
			require.Equal(t, string(u.payload), string(dec.Payload))
			require.Equal(t, u.meta["UID"], num(dec.UID))
			require.Equal(t, u.meta["GID"], num(dec.GID))
			require.Equal(t, u.meta["TTL"], strconv.Itoa(int(dec.TTL/time.Second)))
			if r, ok := u.meta["UID_RESTRICTION"]; ok {
				require.NotNil(t, dec.RestrictedTo)
				require.Equal(t, r, num(*dec.RestrictedTo))
			} else {
				require.Nil(t, dec.RestrictedTo)
			}
		})
	}
}

// A credential made by Encode is read by `unmunge` as asked for.
func TestUnmungeReadsEncode(t *testing.T) {
	m := testutil.StartMunged(t)
	own := uint32(os.Getuid())
	for _, opts := range []munge.EncodeOptions{
		{Socket: m.Socket},
		{Socket: m.Socket, TTL: 77 * time.Second, UIDRestriction: &own},
	} {
		payload := []byte(fmt.Sprintf("payload ttl=%v\n", opts.TTL))
		cred, err := munge.Encode(payload, opts)
		require.NoError(t, err)
		u := unmunge(t, m.Socket, cred)
		require.Zero(t, u.status, u.message)
		require.Equal(t, "0", u.meta["STATUS"])
		require.Equal(t, string(payload), string(u.payload))
		require.Equal(t, num(own), u.meta["UID"])
		require.Equal(t, num(uint32(os.Getgid())), u.meta["GID"])
		if opts.TTL == 0 {
			require.Equal(t, "300", u.meta["TTL"], "munged's default")
			require.NotContains(t, u.meta, "UID_RESTRICTION")
		} else {
			require.Equal(t, "77", u.meta["TTL"])
			require.Equal(t, num(own), u.meta["UID_RESTRICTION"])
		}
	}
}

// A truncated, corrupted or malformed credential gets from Decode the status
// (unmunge's exit code) and message that `unmunge` gets.
func TestBadCredentialLikeUnmunge(t *testing.T) {
	m := testutil.StartMunged(t)
	other := testutil.StartMunged(t)
	cred := mungeCLI(t, "-S", m.Socket, "-s", "some payload to corrupt")
	body := strings.TrimSuffix(strings.TrimPrefix(cred, "MUNGE:"), ":")
	flip := []byte(body)
	flip[len(flip)/2] ^= 'A' ^ 'B' // one base64 letter changed
	for name, bad := range map[string]string{
		"truncated":   "MUNGE:" + body[:len(body)/2] + ":",
		"corrupted":   "MUNGE:" + string(flip) + ":",
		"not base64":  "MUNGE:garbage!:",
		"no prefix":   body,
		"another key": mungeCLI(t, "-S", other.Socket, "-n"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := munge.Decode(bad, m.Socket)
			var me *munge.Error
			require.ErrorAs(t, err, &me)
			u := unmunge(t, m.Socket, bad)
			require.NotZero(t, u.status)
			require.Equal(t, u.status, int(me.Status), "unmunge: %s; Decode: %v", u.message, err)
			require.Equal(t, u.message, me.Detail)
		})
	}
}

// A socket that is not munged's (a peer that answers garbage, hangs up, or
// never answers) is a Socket error that says what went wrong, after
// libmunge's five attempts with the retry count in each header; never a hang.
func TestSocketNotMunged(t *testing.T) {
	munge.ShortenSocketTimeout(t, 100*time.Millisecond)
	for _, tc := range []struct {
		name   string
		answer func(net.Conn)
		detail string
	}{
		{"garbage", func(c net.Conn) { _, _ = c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n")) }, "Received invalid message magic"},
		{"hangs up", func(net.Conn) {}, "Received incomplete message header: 0 of 11 bytes"},
		{"short body", func(c net.Conn) { _, _ = c.Write([]byte{0, 0x60, 0x6d, 0x4b, 4, 3, 0, 0, 0, 0, 9, 0}) }, "Received incomplete message body: 1 of 9 bytes"},
		{"silent", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }, "Failed to receive message header: Timed-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "not-munged.sock")
			retries := serveUnix(t, sock, tc.answer)
			done := make(chan error, 1)
			go func() { _, err := munge.Encode([]byte("x"), munge.EncodeOptions{Socket: sock}); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Encode hung on a socket that is not munged's")
			}
			require.ErrorIs(t, err, munge.Socket)
			require.Contains(t, err.Error(), tc.detail)
			require.Contains(t, err.Error(), "start munged")
			require.Equal(t, []byte{0, 1, 2, 3, 4}, drain(retries), "retry counts in the headers of the attempts")
		})
	}

	// A socket file that nobody listens on, and a path that is no socket.
	dir := t.TempDir()
	_, err := munge.Decode("MUNGE:x:", dir)
	require.ErrorIs(t, err, munge.Socket)
	require.Contains(t, err.Error(), fmt.Sprintf("Invalid file type for socket %q", dir))
	_, err = munge.Decode("MUNGE:x:", filepath.Join(dir, "none"))
	require.ErrorIs(t, err, munge.Socket)
	require.Contains(t, err.Error(), "No such file or directory (Did you start munged?)")
}

// serveUnix accepts on sock and, for each connection, reads the request's
// header and body, reports the header's retry count and lets answer reply
// before hanging up.
func serveUnix(t *testing.T, sock string, answer func(net.Conn)) <-chan byte {
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	retries := make(chan byte, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				hdr := make([]byte, 11)
				if _, err := io.ReadFull(c, hdr); err == nil {
					_, _ = io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[7:])))
					retries <- hdr[6]
					answer(c)
				}
			}()
		}
	}()
	return retries
}

func drain(ch <-chan byte) []byte {
	var got []byte
	for {
		select {
		case b := <-ch:
			got = append(got, b)
		default:
			return got
		}
	}
}
