package auth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// vectorsFile is shared with the C plugin's unit test (spank/).
var vectorsFile = filepath.Join("..", "..", "testdata", "auth-vectors.tsv")

// vector is one row: a request, the secrets of its claim, an answer, and
// the payload and proof both implementations must make from them.
type vector struct {
	method, uri, body, nonce, replyKey string
	status                             int
	respBody, payload, proof           string
}

// vectorInputs are the rows written by ACCEL_WRITE_VECTORS=1 go test.
var vectorInputs = []vector{
	{method: "POST", uri: "/v1/requests", body: `{"paths":["/jfs/data/imagenet"],"job_id":"42"}`,
		nonce: "000102030405060708090a0b0c0d0e0f", replyKey: strings.Repeat("ab", 32),
		status: 200, respBody: `{"id":7,"state":"queued"}` + "\n"},
	{method: "GET", uri: "/v1/queue?user=alice&limit=10", body: "",
		nonce: "ffeeddccbbaa99887766554433221100", replyKey: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		status: 200, respBody: "[]\n"},
	{method: "POST", uri: "/v1/jobs/123/start", body: "",
		nonce: "0123456789abcdef0123456789abcdef", replyKey: strings.Repeat("0f", 32),
		status: 403, respBody: `{"error":"job start needs root or SlurmdUser"}` + "\n"},
	{method: "POST", uri: "/v1/requests", body: `{"paths":["/jfs/données/日本語 ✓"]}`,
		nonce: "deadbeefdeadbeefdeadbeefdeadbeef", replyKey: strings.Repeat("5a", 32),
		status: 201, respBody: `{"path":"/jfs/données/日本語 ✓"}`},
	{method: "DELETE", uri: "/v1/requests/9", body: "",
		nonce: "11111111111111111111111111111111", replyKey: strings.Repeat("77", 32),
		status: 204, respBody: ""},
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func (v vector) claim() Claim {
	return Claim{Method: v.method, URI: v.uri, BodySHA256: BodyDigest([]byte(v.body)), Nonce: v.nonce, ReplyKey: v.replyKey}
}

// TestWriteVectors regenerates the file when ACCEL_WRITE_VECTORS=1; it is
// otherwise a no-op, and TestVectors checks the committed file.
func TestWriteVectors(t *testing.T) {
	if os.Getenv("ACCEL_WRITE_VECTORS") != "1" {
		t.Log("ACCEL_WRITE_VECTORS is not 1: testdata/auth-vectors.tsv left as committed")
		return
	}
	var b strings.Builder
	b.WriteString("# accel-data auth test vectors (issue 9 contract). Tab-separated; lines starting with # are comments.\n")
	b.WriteString("# method\turi\tbody\tnonce\treply-key\tstatus\tresponse-body\texpected-payload\texpected-proof\n")
	for _, v := range vectorInputs {
		c := v.claim()
		b.WriteString(strings.Join([]string{v.method, v.uri, jsonString(v.body), v.nonce, v.replyKey,
			strconv.Itoa(v.status), jsonString(v.respBody), jsonString(string(c.Payload())),
			c.Proof(v.status, []byte(v.respBody))}, "\t") + "\n")
	}
	require.NoError(t, os.WriteFile(vectorsFile, []byte(b.String()), 0o644))
}

func readVectors(t *testing.T) []vector {
	f, err := os.Open(vectorsFile)
	require.NoError(t, err)
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		require.Len(t, col, 9, line)
		var v vector
		v.method, v.uri, v.nonce, v.replyKey, v.proof = col[0], col[1], col[3], col[4], col[8]
		require.NoError(t, json.Unmarshal([]byte(col[2]), &v.body))
		v.status, err = strconv.Atoi(col[5])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal([]byte(col[6]), &v.respBody))
		require.NoError(t, json.Unmarshal([]byte(col[7]), &v.payload))
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestVectors reproduces the payload and the proof of every committed row,
// parses the payload back and checks the proof against a wrong status.
func TestVectors(t *testing.T) {
	rows := readVectors(t)
	require.GreaterOrEqual(t, len(rows), 5)
	for _, v := range rows {
		c := v.claim()
		require.Equal(t, v.payload, string(c.Payload()), v.uri)
		require.Equal(t, v.proof, c.Proof(v.status, []byte(v.respBody)), v.uri)
		back, err := ParsePayload([]byte(v.payload))
		require.NoError(t, err)
		require.Equal(t, c, back)
		require.NoError(t, back.Check(v.method, v.uri, []byte(v.body)))
		require.True(t, c.CheckProof(v.proof, v.status, []byte(v.respBody)))
		require.False(t, c.CheckProof(v.proof, v.status+1, []byte(v.respBody)))
		require.False(t, c.CheckProof(v.proof, v.status, append([]byte(v.respBody), ' ')))
	}
}
