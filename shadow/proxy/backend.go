package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

// backend is one system's query API.
type backend struct {
	name string
	base string
	http *http.Client
}

// reply is what a backend said: a status and body, or a failure.
type reply struct {
	status  int
	body    []byte
	elapsed time.Duration
	// failKind is "" when the backend answered below 500; else why it
	// failed: "timeout", "refused", "network", "5xx", "read".
	failKind string
	err      error
}

// failed reports whether the serving system failed in a way that calls for
// a fallback: a 5xx, a timeout, a refused or broken connection.
func (r *reply) failed() bool { return r.failKind != "" }

// maxAnswerBytes caps an answer body read from a backend.
const maxAnswerBytes = 256 << 20

// query posts body to the backend's /v1/query with the caller's
// Authorization header (the backends authenticate with the same tokens
// file when they have one).
func (b *backend) query(ctx context.Context, body []byte, authorization string) *reply {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/v1/query", bytes.NewReader(body))
	if err != nil {
		return &reply{failKind: "network", err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return &reply{failKind: failKind(err), err: fmt.Errorf("%s: %w", b.name, err), elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	r := &reply{status: resp.StatusCode, body: data, elapsed: time.Since(start)}
	switch {
	case err != nil:
		r.failKind, r.err = failKind(err), fmt.Errorf("%s: read answer: %w", b.name, err)
		if r.failKind == "network" {
			r.failKind = "read"
		}
	case resp.StatusCode >= 500:
		r.failKind, r.err = "5xx", fmt.Errorf("%s: status %d: %s", b.name, resp.StatusCode, bytes.TrimSpace(truncate(data, 300)))
	}
	return r
}

func (b *backend) health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", b.name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: /healthz %d", b.name, resp.StatusCode)
	}
	return nil
}

// failKind names a transport error for metrics.
func failKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	}
	return "network"
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
