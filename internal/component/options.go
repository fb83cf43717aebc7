package component

import (
	"log/slog"
	"net"
	"time"
)

// Options configure a Runner.
type Options struct {
	// Name names the component in logs ("collector", "legacy-ingest").
	Name string
	// Subsystem is the Prometheus subsystem of the request metrics
	// (brooks_<subsystem>_requests_total); Name when empty, with '-' as '_'.
	Subsystem string
	// Addr is the HTTP listen address; Listener, when set, is used instead.
	Addr     string
	Listener net.Listener
	// Logger gets the runner's and the server's logs; nil discards.
	Logger *slog.Logger
	// Auth authenticates every route except /healthz, /readyz and Public
	// ones (an *auth.Tokens of the api_tokens_file): routes need an admin
	// token unless marked PerCustomer. Without it the runner serves on a
	// loopback address only.
	Auth Authenticator

	// ShutdownTimeout bounds each step of the shutdown: the intake drain
	// and each phase's workers.
	ShutdownTimeout time.Duration
	// HTTPGrace bounds the HTTP server's own shutdown, the last step.
	HTTPGrace time.Duration
	// ReadyTimeout bounds one /readyz answer (all checks together).
	ReadyTimeout time.Duration

	// The HTTP server's limits (see net/http.Server).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
}

// DefaultOptions are the limits every component serves with. WriteTimeout
// is above the query APIs' 30 s query timeout and the collector's 10 s wait
// for Kafka, so a slow answer is still written.
func DefaultOptions() Options {
	return Options{
		Addr:              "127.0.0.1:0",
		ShutdownTimeout:   30 * time.Second,
		HTTPGrace:         5 * time.Second,
		ReadyTimeout:      2 * time.Second,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Name == "" {
		o.Name = "brooks"
	}
	if o.Subsystem == "" {
		o.Subsystem = metricName(o.Name)
	}
	if o.Addr == "" {
		o.Addr = d.Addr
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&o.ShutdownTimeout, &d.ShutdownTimeout}, {&o.HTTPGrace, &d.HTTPGrace}, {&o.ReadyTimeout, &d.ReadyTimeout},
		{&o.ReadHeaderTimeout, &d.ReadHeaderTimeout}, {&o.ReadTimeout, &d.ReadTimeout},
		{&o.WriteTimeout, &d.WriteTimeout}, {&o.IdleTimeout, &d.IdleTimeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return o
}

// metricName turns a component name into a metric name part.
func metricName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
