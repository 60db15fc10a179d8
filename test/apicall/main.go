// Command apicall sends one raw request to warmupd and prints the HTTP
// status and body. It is a test tool: the integration tests run it as
// another uid to check that warmupd judges callers by SO_PEERCRED (unix
// socket) or by their MUNGE credential (TCP), and feed it malformed bodies
// the typed client would never send.
//
//	apicall SOCKET METHOD PATH [BODY|-]   (- reads the body from stdin)
//	apicall tcp://HOST:PORT METHOD PATH [BODY|-]
//
// Over TCP the request carries a fresh MUNGE credential made through
// $APICALL_MUNGE_SOCKET (default socket if unset) for uid
// $APICALL_SERVER_UID (default 0), and an answer other than 401 must carry
// warmupd's proof, else apicall exits 3.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/munge"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: apicall SOCKET|tcp://HOST:PORT METHOD PATH [BODY|-]")
		os.Exit(2)
	}
	target, method, path := os.Args[1], os.Args[2], os.Args[3]
	var body []byte
	if len(os.Args) > 4 {
		body = []byte(os.Args[4])
		if os.Args[4] == "-" {
			b, err := io.ReadAll(os.Stdin)
			fail(err, 2)
			body = b
		}
	}
	network, addr := "unix", target
	if a, ok := strings.CutPrefix(target, "tcp://"); ok {
		network, addr = "tcp", a
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	req, err := http.NewRequest(method, "http://warmupd"+path, bytes.NewReader(body))
	fail(err, 2)
	var claim auth.Claim
	if network == "tcp" {
		claim, err = auth.NewClaim(method, req.URL.RequestURI(), body)
		fail(err, 2)
		uid := uint32(0)
		if s := os.Getenv("APICALL_SERVER_UID"); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			fail(err, 2)
			uid = uint32(n)
		}
		cred, err := munge.Encode(claim.Payload(), munge.EncodeOptions{Socket: os.Getenv("APICALL_MUNGE_SOCKET"), UIDRestriction: &uid})
		fail(err, 1)
		req.Header.Set(auth.Header, auth.Scheme+" "+cred)
	}
	resp, err := hc.Do(req)
	fail(err, 1)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if network == "tcp" && resp.StatusCode != http.StatusUnauthorized &&
		!claim.CheckProof(resp.Header.Get(auth.ProofHeader), resp.StatusCode, b) {
		fmt.Fprintf(os.Stderr, "apicall: answer %d without a valid proof: %s\n", resp.StatusCode, b)
		os.Exit(3)
	}
	fmt.Printf("%d %s", resp.StatusCode, b)
}

func fail(err error, code int) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicall:", err)
		os.Exit(code)
	}
}
