// Command apicall sends one raw request to warmupd's unix socket and prints
// the HTTP status and body. It is a test tool: the integration tests run it
// as another uid to check that warmupd judges callers by SO_PEERCRED, and
// feed it malformed bodies the typed client would never send.
//
//	apicall SOCKET METHOD PATH [BODY|-]   (- reads the body from stdin)
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: apicall SOCKET METHOD PATH [BODY|-]")
		os.Exit(2)
	}
	sock, method, path := os.Args[1], os.Args[2], os.Args[3]
	var body io.Reader
	if len(os.Args) > 4 {
		body = strings.NewReader(os.Args[4])
		if os.Args[4] == "-" {
			body = os.Stdin
		}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequest(method, "http://warmupd"+path, body)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	resp, err := hc.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, b)
}
