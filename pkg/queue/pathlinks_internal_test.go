package queue

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// A path's claims are found through its lineage whatever bytes it holds:
// a name that is not UTF-8 (a symlink's target, resolved on the mount)
// is looked up byte for byte.
func TestPathLinksOfAPathThatIsNotUTF8(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for _, p := range []string{"/jfs/d\xff/sub", "/jfs/ds/sub"} {
		_, err := s.Submit(ctx, SubmitParams{Paths: []string{p}, UID: 1000, GID: 1000, Source: api.SourceManual, Now: time.Now()})
		require.NoError(t, err)
		var wanted bool
		require.NoError(t, s.inTx(ctx, func(tx *wtx) (err error) { wanted, err = wantedNowTx(ctx, tx, p); return }))
		require.True(t, wanted, "%q: its person's request, made while its task is queued", p)
	}
	require.Empty(t, parents("relative/path"), "no endless walk up a relative path")
}
