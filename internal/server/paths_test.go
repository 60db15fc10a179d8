package server

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

func TestCanonicalRejectsBadSyntax(t *testing.T) {
	cases := map[string]string{
		"":                                    "empty path",
		"data/imagenet":                       "relative",
		"/jfs/a/../etc":                       "'..'",
		"/jfs/a\nb":                           "control character",
		"/jfs/a\x7fb":                         "control character",
		"/jfs/\xff\xfe":                       "not valid UTF-8",
		"/" + strings.Repeat("a", MaxPathLen): "longer than",
	}
	for in, want := range cases {
		_, err := Canonical(in)
		require.Error(t, err, "%q", in)
		require.Contains(t, err.Error(), want, "%q", in)
	}
	for in, want := range map[string]string{"/jfs/a/": "/jfs/a", "/jfs//a/./b": "/jfs/a/b", "/jfs": "/jfs"} {
		got, err := Canonical(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	mnt := filepath.Join(root, "jfs")
	other := filepath.Join(root, "other")
	require.NoError(t, os.MkdirAll(filepath.Join(mnt, "ds", "sub"), 0o755))
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(mnt, "private"), 0o700))
	require.NoError(t, os.Symlink(other, filepath.Join(mnt, "escape")))
	require.NoError(t, os.Symlink(filepath.Join(mnt, "ds"), filepath.Join(mnt, "alias")))
	require.NoError(t, os.Chmod(root, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(root), 0o755)) // t.TempDir makes 0700 parents
	pp := &PathPolicy{Mounts: []string{mnt}, MaxPaths: 10}
	user := Caller{UID: 4242, GID: 4242, Gids: []uint32{4242}}

	got, err := pp.Resolve(filepath.Join(mnt, "ds")+"/", user)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(mnt, "ds"), got)

	got, err = pp.Resolve(filepath.Join(mnt, "alias", "sub"), user)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(mnt, "ds", "sub"), got, "symlinks resolve to the dataset's real path")

	got, err = pp.Resolve(filepath.Join(mnt, "alias"), user)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(mnt, "ds"), got, "a symlink as the last component resolves too")

	require.NoError(t, os.Symlink("loop", filepath.Join(mnt, "loop")))
	_, err = pp.Resolve(filepath.Join(mnt, "loop"), user)
	require.ErrorContains(t, err, "too many levels of symbolic links")

	_, err = pp.Resolve(filepath.Join(mnt, "missing"), user)
	require.ErrorContains(t, err, "no such file or directory")

	_, err = pp.Resolve(other, user)
	require.ErrorContains(t, err, "not inside a JuiceFS mount")

	_, err = pp.Resolve(mnt+"x/ds", user)
	require.ErrorContains(t, err, "not inside a JuiceFS mount", "a prefix that is not a path component does not count")

	_, err = pp.Resolve(filepath.Join(mnt, "escape"), user)
	require.ErrorContains(t, err, "outside every JuiceFS mount")

	_, err = pp.Resolve(filepath.Join(mnt, "private"), user)
	require.ErrorContains(t, err, "permission denied for uid 4242")

	got, err = pp.Resolve(filepath.Join(mnt, "private"), Caller{UID: 0})
	require.NoError(t, err, "root may read anything")
	require.Equal(t, filepath.Join(mnt, "private"), got)

	if os.Geteuid() == 0 {
		require.NoError(t, os.Chown(filepath.Join(mnt, "private"), 4243, 4300))
		_, err = pp.Resolve(filepath.Join(mnt, "private"), Caller{UID: 4243, GID: 4243})
		require.NoError(t, err, "the owner may read its own directory")
		require.NoError(t, os.Chmod(filepath.Join(mnt, "private"), 0o750))
		_, err = pp.Resolve(filepath.Join(mnt, "private"), Caller{UID: 4244, Gids: []uint32{4244, 4300}})
		require.NoError(t, err, "a member of the group may read a group-readable directory")
		_, err = pp.Resolve(filepath.Join(mnt, "private"), Caller{UID: 4244, Gids: []uint32{4244}})
		require.Error(t, err, "a non-member may not")
	} else {
		t.Log("owner/group cases need root to chown; not run as uid", os.Geteuid())
	}
}

// One answer for a refused path: a PathError keeps its status and names its
// own path; any other error is a 400 naming the path given.
func TestWritePathError(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		want   api.Error
	}{
		{&PathError{Path: "/jfs/x", Reason: "no such file or directory", Status: 404}, 404, api.Error{Error: "/jfs/x: no such file or directory", Path: "/jfs/x"}},
		{errors.New("odd"), 400, api.Error{Error: "odd", Path: "/jfs/given"}},
	} {
		rec := httptest.NewRecorder()
		writePathError(rec, tc.err, "/jfs/given")
		require.Equal(t, tc.status, rec.Code)
		var got api.Error
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		require.Equal(t, tc.want, got)
	}
}

// The mount of a path is the deepest one holding it.
func TestMountOfPicksTheDeepest(t *testing.T) {
	pp := &PathPolicy{Mounts: []string{"/jfs", "/jfs/inner"}}
	require.Equal(t, "/jfs/inner", pp.mountOf("/jfs/inner/x"))
	require.Equal(t, "/jfs", pp.mountOf("/jfs/innerx"))
	require.Equal(t, "", pp.mountOf("/jfsx"))
}
