// Package obs gives every Brooks component the same observability: a slog
// logger built from configuration and an HTTP mux with /metrics (Prometheus),
// /healthz (alive) and /readyz (dependencies reachable).
package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format "text" or "json".
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// Discard is a logger that drops everything; components use it when given nil.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OrDiscard returns l, or a discarding logger when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return l
}

// NewRegistry returns a Prometheus registry with Go and process collectors.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// ReadyCheck reports whether a dependency is usable.
type ReadyCheck func(ctx context.Context) error

// Mux is an http.ServeMux with /metrics, /healthz and /readyz. Components
// add their own routes to it.
type Mux struct {
	*http.ServeMux
	mu     sync.Mutex
	checks map[string]ReadyCheck
}

// NewMux serves reg on /metrics and the health endpoints.
func NewMux(reg *prometheus.Registry) *Mux {
	m := &Mux{ServeMux: http.NewServeMux(), checks: map[string]ReadyCheck{}}
	m.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	m.HandleFunc("GET /readyz", m.ready)
	return m
}

// AddReadyCheck makes /readyz depend on check.
func (m *Mux) AddReadyCheck(name string, check ReadyCheck) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checks[name] = check
}

func (m *Mux) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	m.mu.Lock()
	checks := make(map[string]ReadyCheck, len(m.checks))
	for k, v := range m.checks {
		checks[k] = v
	}
	m.mu.Unlock()
	var failed []string
	for name, check := range checks {
		if err := check(ctx); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\n"+strings.Join(failed, "\n")+"\n")
		return
	}
	io.WriteString(w, "ready\n")
}

// Serve runs an HTTP server for h on addr until ctx ends, then shuts it down
// gracefully within grace. If ln is non-nil it is used instead of addr.
func Serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler, grace time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return ServeListener(ctx, log, ln, h, grace)
}

// ServeListener is Serve on an open listener.
func ServeListener(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler, grace time.Duration) error {
	log = OrDiscard(log)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("http listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Stderr is where commands log by default.
var Stderr io.Writer = os.Stderr
