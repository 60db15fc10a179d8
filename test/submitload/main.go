// Command submitload sends submit requests to warmupd from several workers
// at once and prints the rate: the load generator of the multi-host submit
// benchmark (test/e2e BenchmarkHostsSubmitRate), which runs it on the
// login host (TCP + MUNGE) and on the service host (unix socket).
//
//	submitload --socket PATH | --server HOST:PORT [--munge-socket PATH] [--sessions]
//	           --root DIR --dirs N [--requests 4000] [--workers 4] [--token PREFIX]
//
// Request i names ROOT/dNNNNN for NNNNN = i mod N (with requests = 2×N, half
// the requests name a new dataset and half join one), with token PREFIXi and
// source submit, as the SPANK plugin sends them. Without --sessions every TCP
// request carries a fresh MUNGE credential; with it the workers share one
// client that opens a session (one credential, then an HMAC per request).
// Every TCP answer's proof is checked by the client. It prints one line:
//
//	req/s R cpu-us/req C
//
// where C is this process's CPU time per request (encoding, the client's
// share of the cost). It exits 1 at the first failed request.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

func main() {
	var (
		c        api.Client
		root     = flag.String("root", "", "directory holding the dNNNNN directories to submit")
		dirs     = flag.Int("dirs", 2000, "how many dNNNNN directories ROOT holds")
		requests = flag.Int("requests", 4000, "requests to send in all")
		workers  = flag.Int("workers", 4, "concurrent workers")
		token    = flag.String("token", "t", "token prefix (request i sends PREFIXi)")
	)
	flag.StringVar(&c.Socket, "socket", "", "warmupd's unix socket")
	flag.StringVar(&c.Server, "server", "", "warmupd's TCP door HOST:PORT (MUNGE)")
	flag.StringVar(&c.MungeSocket, "munge-socket", "", "munged's socket (default: libmunge's)")
	flag.BoolVar(&c.Sessions, "sessions", false, "open a TCP session instead of a credential per request")
	flag.Parse()
	if *root == "" || *dirs <= 0 || *requests <= 0 || *workers <= 0 || (c.Socket == "") == (c.Server == "") {
		fmt.Fprintln(os.Stderr, "submitload: give --root, positive --dirs/--requests/--workers, and one of --socket or --server")
		os.Exit(2)
	}
	client := func() *api.Client {
		if c.Sessions {
			return &c // one session shared, as a long-lived agent does
		}
		return &api.Client{Socket: c.Socket, Server: c.Server, MungeSocket: c.MungeSocket}
	}
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *workers)
	for w := range *workers {
		wg.Go(func() {
			cl := client()
			for i := w; i < *requests; i += *workers {
				p := filepath.Join(*root, fmt.Sprintf("d%05d", i%*dirs))
				if _, err := cl.Submit(context.Background(), api.SubmitRequest{Paths: []string{p},
					Token: fmt.Sprint(*token, i), Source: api.SourceSubmit}); err != nil {
					errs <- fmt.Errorf("request %d (%s): %w", i, p, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		fmt.Fprintln(os.Stderr, "submitload:", err)
		os.Exit(1)
	}
	fmt.Printf("req/s %.1f cpu-us/req %.1f\n", float64(*requests)/elapsed.Seconds(),
		float64((cpuTime()-cpu0).Microseconds())/float64(*requests))
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
