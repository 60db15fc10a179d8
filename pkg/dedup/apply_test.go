package dedup

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// volume returns a JuiceFS volume (the stand-in unless ACCEL_TEST_JUICEFS
// names a real client) and a data directory inside it.
func volume(t *testing.T) (*testutil.Volume, string) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	v := testutil.NewVolume(t)
	data := filepath.Join(v.Mount, "data")
	require.NoError(t, os.Mkdir(data, 0o755))
	return v, data
}

func applyOpts(t *testing.T, v *testutil.Volume, dir string) ApplyOptions {
	return ApplyOptions{
		Cloner:  &jfs.Driver{Binary: v.Binary},
		Journal: filepath.Join(dir, "journal"),
		MinSize: 4096,
		Log:     zerolog.New(zerolog.NewTestWriter(t)),
	}
}

func scanDir(t *testing.T, dir string) *Report {
	t.Helper()
	r, err := Scan(context.Background(), []string{dir}, Options{})
	require.NoError(t, err)
	return r
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p, &st))
	return st.Ino
}

func outcomes(s *ApplySummary, root string) map[string]string {
	out := map[string]string{}
	for _, r := range s.Results {
		rel, _ := filepath.Rel(root, string(r.Path))
		out[rel] = r.Outcome
	}
	return out
}

func TestApplyReplacesDuplicatesKeepingMetadata(t *testing.T) {
	v, data := volume(t)
	big := bigData(1, 3<<20)
	tree{
		"a/orig":   {Data: big},
		"b/dup":    {Data: big, Mode: 0o600},
		"c/small1": {Data: bigData(2, 1000)},
		"c/small2": {Data: bigData(2, 1000)},
	}.build(t, data)
	orig, dup := filepath.Join(data, "a/orig"), filepath.Join(data, "b/dup")
	require.NoError(t, os.Lchown(orig, 1000, 1000))
	require.NoError(t, os.Lchown(dup, 1000, 2000))
	require.NoError(t, unix.Lsetxattr(dup, "user.accel", []byte("keep me"), 0))
	old := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	require.NoError(t, os.Chtimes(orig, old.Add(-time.Hour), old.Add(-time.Hour)))
	require.NoError(t, os.Chtimes(dup, old, old))
	smallIno := ino(t, filepath.Join(data, "c/small2"))
	dupIno := ino(t, dup)

	r := scanDir(t, data)
	require.Len(t, r.Groups, 2)
	opts := applyOpts(t, v, t.TempDir())
	opts.MinSize = 0 // the default, 1 MiB
	s, err := Apply(context.Background(), r, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"b/dup": OutcomeReplaced}, outcomes(s, data))
	require.Equal(t, 1, s.Small, "duplicates under 1 MiB are left alone")
	require.EqualValues(t, 3<<20, s.ReplacedBytes)

	got, err := os.ReadFile(dup)
	require.NoError(t, err)
	require.Equal(t, big, string(got))
	require.NotEqual(t, dupIno, ino(t, dup), "the duplicate is a new inode: the clone")
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(dup, &st))
	require.EqualValues(t, 1000, st.Uid)
	require.EqualValues(t, 2000, st.Gid)
	require.EqualValues(t, 0o600, st.Mode&0o7777)
	require.Equal(t, old.UnixNano(), st.Mtim.Nano())
	x, err := getXattr(dup, "user.accel")
	require.NoError(t, err)
	require.Equal(t, "keep me", string(x))
	require.Equal(t, smallIno, ino(t, filepath.Join(data, "c/small2")))
	drv := &jfs.Driver{Binary: v.Binary}
	origRows, err := drv.InfoRaw(context.Background(), orig)
	require.NoError(t, err)
	dupRows, err := drv.InfoRaw(context.Background(), dup)
	require.NoError(t, err)
	require.NotEmpty(t, dupRows)
	require.Equal(t, origRows, dupRows, "the duplicate now shares the original's slices (its mtime restored)")
	left, err := filepath.Glob(filepath.Join(data, "b", "*"+TmpSuffix))
	require.NoError(t, err)
	require.Empty(t, left)

	// a second run finds it in the journal
	s, err = Apply(context.Background(), r, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"b/dup": OutcomeDoneBefore}, outcomes(s, data))
}

func TestApplySkipsWhatChangedSinceTheScan(t *testing.T) {
	v, data := volume(t)
	d := bigData(3, 64<<10)
	tr := tree{"orig": {Data: d}}
	for _, n := range []string{"modified", "deleted", "replaced", "other-owner", "hardlinked", "open-for-writing", "fine", "touched"} {
		tr[n] = node{Data: d}
	}
	tr["zz-link"] = node{Link: "hardlinked"}
	tr["zz-orig-link"] = node{Link: "orig"} // orig keeps as many links, and is older
	tr.build(t, data)
	require.NoError(t, os.Lchown(filepath.Join(data, "other-owner"), 4242, 4242))
	require.NoError(t, os.Chtimes(filepath.Join(data, "orig"), time.Unix(1e9, 0), time.Unix(1e9, 0)))
	r := scanDir(t, data)
	require.Len(t, r.Groups, 1)
	require.Equal(t, "orig", filepath.Base(string(r.Groups[0].Files[0].Path)), "most links, then oldest, is kept")

	p := func(n string) string { return filepath.Join(data, n) }
	mod := []byte(d)
	mod[100] ^= 1
	require.NoError(t, os.WriteFile(p("modified"), mod, 0o644))
	require.NoError(t, os.Remove(p("deleted")))
	require.NoError(t, os.WriteFile(p("replaced.new"), mod, 0o644))
	require.NoError(t, os.Rename(p("replaced.new"), p("replaced")))
	require.NoError(t, os.Chmod(p("touched"), 0o600)) // ctime changes, content does not
	w, err := os.OpenFile(p("open-for-writing"), os.O_WRONLY, 0)
	require.NoError(t, err)
	defer w.Close()

	s, err := Apply(context.Background(), r, applyOpts(t, v, t.TempDir()))
	require.NoError(t, err)
	got := outcomes(s, data)
	want := map[string]string{
		"modified": OutcomeSkipped, "deleted": OutcomeSkipped, "replaced": OutcomeSkipped,
		"other-owner": OutcomeSkipped, "hardlinked": OutcomeSkipped, "open-for-writing": OutcomeSkipped,
		"touched": OutcomeSkipped, "fine": OutcomeReplaced,
	}
	require.Equal(t, want, got)
	for _, res := range s.Results {
		t.Logf("%s: %s %s", res.Path.Quoted(), res.Outcome, res.Reason)
		if res.Outcome == OutcomeSkipped {
			require.NotEmpty(t, res.Reason)
		}
	}
	got2, err := os.ReadFile(p("modified"))
	require.NoError(t, err)
	require.Equal(t, mod, got2, "a modified file is left as it is")

	opts := applyOpts(t, v, t.TempDir())
	opts.AllowCrossOwner = true
	s, err = Apply(context.Background(), r, opts)
	require.NoError(t, err)
	require.Equal(t, OutcomeReplaced, outcomes(s, data)["other-owner"])
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p("other-owner"), &st))
	require.EqualValues(t, 4242, st.Uid, "the replacement keeps the duplicate's owner")
}

func TestApplyRefusesOutsideJuiceFS(t *testing.T) {
	dir := t.TempDir()
	d := bigData(4, 8192)
	tree{"a": {Data: d}, "b": {Data: d}}.build(t, dir)
	r := scanDir(t, dir)
	before := ino(t, filepath.Join(dir, "b"))
	_, err := Apply(context.Background(), r, ApplyOptions{
		Cloner: &jfs.Driver{Binary: "/bin/false"}, Journal: filepath.Join(t.TempDir(), "j"), MinSize: 1})
	var nj *NotJuiceFSError
	require.ErrorAs(t, err, &nj)
	require.Contains(t, err.Error(), "scan works anywhere")
	require.Equal(t, before, ino(t, filepath.Join(dir, "b")))
}

func TestApplyRemovesLeftoverTemporaries(t *testing.T) {
	v, data := volume(t)
	d := bigData(5, 8192)
	tree{"a": {Data: d}, "b": {Data: d}, "c b": {Data: d}}.build(t, data)
	r := scanDir(t, data)
	// what a crash between clone and rename leaves behind
	leftover := filepath.Join(data, ".b"+TmpSuffix)
	require.NoError(t, os.WriteFile(leftover, []byte("half"), 0o644))
	unrelated := filepath.Join(data, ".b.tmp")
	require.NoError(t, os.WriteFile(unrelated, []byte("not ours"), 0o644))

	s, err := Apply(context.Background(), r, applyOpts(t, v, t.TempDir()))
	require.NoError(t, err)
	require.Equal(t, 1, s.TempsRemoved)
	require.Equal(t, 2, s.Replaced)
	require.NoFileExists(t, leftover)
	require.FileExists(t, unrelated, "only apply's own temporaries are removed")
	for _, n := range []string{"a", "b", "c b"} {
		got, err := os.ReadFile(filepath.Join(data, n))
		require.NoError(t, err)
		require.Equal(t, d, string(got))
	}
}

func TestApplyWithANoHashReport(t *testing.T) {
	v, data := volume(t)
	d := bigData(12, 8192)
	tree{"a": {Data: d}, "b": {Data: d}, "c": {Data: d}}.build(t, data)
	r, err := Scan(context.Background(), []string{data}, Options{NoHash: true})
	require.NoError(t, err)
	require.Empty(t, r.Groups[0].SHA256)
	mod := []byte(d)
	mod[8000] ^= 1
	require.NoError(t, os.WriteFile(filepath.Join(data, "c"), mod, 0o644))
	s, err := Apply(context.Background(), r, applyOpts(t, v, t.TempDir()))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"b": OutcomeReplaced, "c": OutcomeSkipped}, outcomes(s, data),
		"a changed file is skipped without a content ID too")
}

// Some clients may touch the source's ctime when cloning it: a resumed run
// accepts that for an original the journal says it cloned before (its
// content is still compared byte for byte).
func TestApplyResumesAfterTheOriginalsCtimeMoved(t *testing.T) {
	v, data := volume(t)
	d := bigData(13, 8192)
	tree{"a": {Data: d}, "b": {Data: d}, "c": {Data: d}}.build(t, data)
	require.NoError(t, os.Chtimes(filepath.Join(data, "a"), time.Unix(1e9, 0), time.Unix(1e9, 0)))
	r := scanDir(t, data)
	opts := applyOpts(t, v, t.TempDir())

	w, err := os.OpenFile(filepath.Join(data, "c"), os.O_WRONLY, 0)
	require.NoError(t, err)
	s, err := Apply(context.Background(), r, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"b": OutcomeReplaced, "c": OutcomeSkipped}, outcomes(s, data))
	require.NoError(t, w.Close())

	moveCtime(t, filepath.Join(data, "a")) // moves a's ctime only
	s, err = Apply(context.Background(), r, opts)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"b": OutcomeDoneBefore, "c": OutcomeReplaced}, outcomes(s, data))

	other := applyOpts(t, v, t.TempDir()) // a fresh journal knows nothing of a
	tree{"x": {Data: d[:5000]}, "y": {Data: d[:5000]}}.build(t, filepath.Join(data, "more"))
	r2 := scanDir(t, filepath.Join(data, "more"))
	moveCtime(t, filepath.Join(data, "more", "x"))
	moveCtime(t, filepath.Join(data, "more", "y"))
	other.MinSize = 1
	s, err = Apply(context.Background(), r2, other)
	require.NoError(t, err)
	require.Equal(t, OutcomeSkipped, s.Results[0].Outcome, "an original whose ctime moved for no known reason is not trusted")
}

// moveCtime changes p's ctime and nothing else: two real mode changes that
// end on the mode it had. (A chmod to the mode a file already has moves the
// ctime on ext4 but not on JuiceFS.)
func moveCtime(t *testing.T, p string) {
	t.Helper()
	st, err := os.Stat(p)
	require.NoError(t, err)
	mode := st.Mode().Perm()
	require.NoError(t, os.Chmod(p, mode^0o001))
	require.NoError(t, os.Chmod(p, mode))
}
