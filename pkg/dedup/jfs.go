package dedup

import (
	"context"
	"fmt"
	"strings"

	"github.com/accel-data/accel-data/pkg/jfs"
)

// JFSSlices is a SliceSource backed by `juicefs info --raw`.
type JFSSlices struct {
	Driver *jfs.Driver
}

// SliceKey implements SliceSource; a file without rows gets "".
func (j JFSSlices) SliceKey(ctx context.Context, path string) (string, error) {
	rows, err := j.Driver.InfoRaw(ctx, path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d:%d:%d:%d:%d;", r.ChunkIndex, r.SliceID, r.Size, r.Offset, r.Length)
	}
	return b.String(), nil
}
