package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/server"
	"github.com/accel-data/accel-data/internal/testutil/dbfault"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// With one damaged page in a table /v1/health does not read (datasets),
// health used to answer ok while every call touching it failed. Once the
// store has seen the damage, health answers 503 and says what to do.
func TestHealthFailsWhenTheStoreIsDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warmupd.db")
	s, err := queue.Open(path, zerolog.Nop())
	require.NoError(t, err)
	paths := make([]string, 300)
	for i := range paths {
		paths[i] = fmt.Sprintf("/jfs/datasets/%s-%04d", strings.Repeat("x", 60), i)
	}
	_, err = s.Submit(t.Context(), queue.SubmitParams{Paths: paths, UID: 1000, Source: api.SourceManual, Now: time.Now()})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = queue.Open(path, zerolog.Nop())
	require.NoError(t, err)
	defer s.Close()
	h := server.New(server.Config{Store: s, Log: zerolog.Nop()}).Handler()
	require.Equal(t, http.StatusOK, get(h, "/v1/health").Code)

	dbfault.CorruptRootPage(t, path, "datasets")
	rec := get(h, "/v1/datasets")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "malformed")

	rec = get(h, "/v1/health")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "is not a usable warmupd database")
	require.Contains(t, rec.Body.String(), "restore it from a backup")
}
