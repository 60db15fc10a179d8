package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/accel-data/accel-data/pkg/api"
)

// newEndpointError explains a 404 from an endpoint that older warmupd
// versions do not serve (GET /v1/priority, GET /v1/cache).
func newEndpointError(err error, c *api.Client, path string) error {
	var se *api.StatusError
	if errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusMethodNotAllowed) {
		return fmt.Errorf("warmupd at %s does not serve %s: it is older than this swarmup; upgrade warmupd", c.SocketPath(), path)
	}
	return err
}
