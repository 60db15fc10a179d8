package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

const nobody = 65534

// call runs test/apicall, as uid when uid >= 0, and returns status and body.
func call(t *testing.T, uid int, sock, method, path, body string) (int, string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "test/apicall"), sock, method, path, "-")
	cmd.Stdin = strings.NewReader(body)
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	out, err := cmd.Output()
	require.NoError(t, err, "apicall: %s", out)
	var code int
	var rest string
	_, err = fmt.Sscanf(string(out), "%d", &code)
	require.NoError(t, err)
	rest = strings.TrimSpace(strings.SplitN(string(out), " ", 2)[1])
	return code, rest
}

func submitBody(paths ...string) string {
	b, _ := json.Marshal(api.SubmitRequest{Paths: paths})
	return string(b)
}

// openToAll lets other uids traverse every directory from the temp root
// down to dir (t.TempDir creates 0700 directories).
func openToAll(t *testing.T, dir string) {
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		st, err := os.Stat(d)
		require.NoError(t, err)
		require.NoError(t, os.Chmod(d, st.Mode().Perm()|0o005))
	}
}

func TestBadInputIsRefusedAndNothingIsCorrupted(t *testing.T) {
	testutil.RequireRoot(t, "checks per-uid access")
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "public", 2, 1<<20)
	v.WriteFiles(t, "secret", 2, 1<<20)
	require.NoError(t, os.Chmod(filepath.Join(v.Mount, "secret"), 0o700))
	openToAll(t, filepath.Join(v.Mount, "public"))
	outside := t.TempDir()
	d := testutil.StartWarmupd(t, v, "--max-paths", "5")
	s := d.Socket
	pub := filepath.Join(v.Mount, "public")

	cases := []struct {
		name, body, want string
		code             int
	}{
		{"relative", submitBody("data/public"), "relative", 400},
		{"dotdot", submitBody(v.Mount + "/public/../secret"), "'..'", 400},
		{"empty list", submitBody(), "no paths given", 400},
		{"missing", submitBody(v.Mount + "/nope"), "no such file", 404},
		{"outside mount", submitBody(outside), "not inside a JuiceFS mount", 400},
		{"too many", submitBody(pub, pub, pub, pub, pub, pub), "at most 5", 400},
		{"too long", submitBody("/" + strings.Repeat("x", 10000)), "longer than", 400},
		{"control char", submitBody(pub + "\x01"), "control character", 400},
		{"malformed json", `{"paths": [`, "malformed JSON", 400},
		{"unknown field", `{"paths":["` + pub + `"],"priority":99}`, "unknown field", 400},
		{"trailing data", `{"paths":["` + pub + `"]} {}`, "trailing data", 400},
		{"empty body", ``, "empty request body", 400},
		{"bad source", `{"paths":["` + pub + `"],"source":"boss"}`, "unknown source", 400},
		{"oversized", `{"paths":["` + strings.Repeat("a", 2<<20) + `"]}`, "larger than", 413},
		{"uid spoof", `{"paths":["` + pub + `"],"uid":0}`, "only root", 403},
	}
	for _, c := range cases {
		code, body := call(t, nobody, s, "POST", "/v1/requests", c.body)
		require.Equal(t, c.code, code, "%s: %s", c.name, body)
		require.Contains(t, body, c.want, c.name)
	}
	// Invalid UTF-8 arrives as U+FFFD through JSON; it names no dataset.
	code, _ := call(t, nobody, s, "POST", "/v1/requests", "{\"paths\":[\""+pub+"\xff\"]}")
	require.GreaterOrEqual(t, code, 400)
	require.Less(t, code, 500)

	// Access is judged as the caller, not as the daemon's root.
	code, body := call(t, nobody, s, "POST", "/v1/requests", submitBody(filepath.Join(v.Mount, "secret")))
	require.Equal(t, 403, code, body)
	require.Contains(t, body, "permission denied for uid 65534")

	// Only root (slurm-prolog) reports job start/end.
	code, body = call(t, nobody, s, "POST", "/v1/jobs/7/start", `{"uid":65534}`)
	require.Equal(t, 403, code, body)
	code, _ = call(t, nobody, s, "POST", "/v1/jobs/abc/end", `{}`)
	require.Equal(t, 403, code)
	code, body = call(t, -1, s, "POST", "/v1/jobs/abc/end", `{}`)
	require.Equal(t, 400, code, body)

	// Nothing was queued by all of that, and the daemon still works.
	q, err := d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	require.Empty(t, q.Entries)

	code, body = call(t, nobody, s, "POST", "/v1/requests", submitBody(pub))
	require.Equal(t, 200, code, body)
	var sr api.SubmitResponse
	require.NoError(t, json.Unmarshal([]byte(body), &sr))
	require.Equal(t, pub, sr.Items[0].Dataset)

	// Root's task cannot be cancelled by nobody; nobody's own can.
	secret := filepath.Join(v.Mount, "secret")
	_, err = d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{secret}})
	require.NoError(t, err)
	code, body = call(t, nobody, s, "POST", "/v1/cancel", `{"paths":["`+secret+`"]}`)
	require.Equal(t, 403, code, body)
	h, err := d.Client.Health(context.Background())
	require.NoError(t, err)
	require.True(t, h.OK)
}

func TestSecondDaemonOnSameSocketOrDatabaseRefuses(t *testing.T) {
	v := testutil.NewVolume(t)
	d := testutil.StartWarmupd(t, v)
	bin := testutil.Binary(t, "cmd/warmupd")
	out, err := exec.Command(bin, d.Args...).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "another warmupd")

	// A stale socket file from a crash is replaced.
	d.Kill()
	_, statErr := os.Stat(d.Socket)
	require.NoError(t, statErr, "SIGKILL leaves the socket file behind")
	d.Start()
	_, err = d.Client.Health(context.Background())
	require.NoError(t, err)
}

func TestDaemonDownIsAClearError(t *testing.T) {
	c := &api.Client{Socket: filepath.Join(t.TempDir(), "none.sock")}
	_, err := c.Queue(context.Background(), false)
	require.True(t, api.IsDaemonDown(err), "%v", err)
	require.Contains(t, err.Error(), "warmupd is not running")
}
