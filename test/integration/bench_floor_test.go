package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// BenchmarkSubmitFloor: the least any submit over TCP + MUNGE can cost on
// this machine. The same client as BenchmarkSubmitTCP (api.Client: a fresh
// credential per request from the client's munged, the answer's proof
// checked) talks to a server that does only what every authenticated
// request needs: read the request, decode and check the credential with
// auth.Verifier (munged, replay cache), answer a fixed submit
// response with its proof. No path check, no store, no JSON decode of the
// request. Its rate is the ceiling of BenchmarkSubmitTCP's "cred" way on
// this machine: whatever warmupd does for a submit comes on top. Reports the
// rate and the CPU time per request of this process (client and server)
// and of munged (encode and decode), medians of tcpRounds rounds of 4 000
// requests from 4 workers.
func BenchmarkSubmitFloor(b *testing.B) {
	m := testutil.StartMunged(b)
	v := auth.NewVerifier(m.Socket, time.Now)
	answer, err := json.Marshal(api.SubmitResponse{Items: []api.SubmitItem{{Path: "/jfs/x", Dataset: "/jfs/x", TaskID: 1, State: api.TaskQueued, Outcome: "new"}}})
	require.NoError(b, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c, err := v.Verify(r.Header.Get(auth.Header), r.Method, r.RequestURI, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set(auth.ProofHeader, c.Claim.Proof(http.StatusOK, answer))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	dirs := make([]string, 2000)
	for i := range dirs {
		dirs[i] = fmt.Sprintf("/jfs/floor/d%05d", i)
	}
	client := func() *api.Client { return &api.Client{Server: l.Addr().String(), MungeSocket: m.Socket} }
	submitRate(b, client, dirs) // not measured: warms up munged and the connections
	b.ResetTimer()
	var rates, self, munged []float64
	for range benchRounds(tcpRounds) {
		s0, m0 := selfCPU(), testutil.ProcCPU(m.Pid())
		rates = append(rates, submitRate(b, client, dirs))
		self = append(self, float64((selfCPU()-s0).Microseconds())/4000)
		munged = append(munged, float64((testutil.ProcCPU(m.Pid())-m0).Microseconds())/4000)
	}
	b.ReportMetric(testutil.Median(rates), "floor-req/s")
	b.ReportMetric(testutil.Median(self), "client+server-cpu-us/req")
	b.ReportMetric(testutil.Median(munged), "munged-cpu-us/req")
	b.ReportMetric(0, "ns/op")
}
