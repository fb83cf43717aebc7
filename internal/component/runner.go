package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/obs"
)

// Phase says when a worker is stopped during shutdown: all of one phase,
// concurrently, before any of the next.
type Phase int

const (
	// Intake workers take work in (a listener, a poller); stopped first.
	Intake Phase = iota
	// Work workers process, flush and commit what intake took.
	Work
	// Ledger workers record what Work finished; their last flush comes
	// after every Work worker returned.
	Ledger
	numPhases
)

func (p Phase) String() string {
	switch p {
	case Intake:
		return "intake"
	case Work:
		return "work"
	case Ledger:
		return "ledger"
	}
	return fmt.Sprintf("phase(%d)", int(p))
}

// ErrShutdownTimeout is returned (joined) by Run when a phase did not stop
// within Options.ShutdownTimeout; the next phases were stopped anyway.
var ErrShutdownTimeout = errors.New("shutdown timed out")

type worker struct {
	phase Phase
	name  string
	run   func(context.Context) error
}

// Runner runs one component: its workers, its HTTP server and its
// shutdown order. Build it with New, add routes and workers, then Run it
// once.
type Runner struct {
	opts    Options
	log     *slog.Logger
	reg     *prometheus.Registry
	mux     *http.ServeMux
	handler http.Handler
	checks  *readiness
	authm   *authMetrics
	workers []worker

	stopping atomic.Bool
	intake   inflight // intake requests in flight
	started  atomic.Bool
}

// New returns a Runner with its registry, /metrics, /healthz and /readyz.
// Zero fields of o take DefaultOptions' values.
func New(o Options) *Runner {
	o = o.withDefaults()
	r := &Runner{opts: o, log: obs.OrDiscard(o.Logger).With("component", o.Name), reg: obs.NewRegistry(), mux: http.NewServeMux()}
	r.checks = newReadiness(o.ReadyTimeout, r.stopping.Load)
	m := newHTTPMetrics(r.reg, o.Subsystem)
	r.authm = newAuthMetrics(r.reg, o.Subsystem)
	r.handler = m.instrument(r.mux)
	r.mux.Handle("GET /metrics", r.guard("GET /metrics", obs.MetricsHandler(r.reg)))
	r.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	r.mux.Handle("GET /readyz", r.checks)
	return r
}

// Registry is the component's Prometheus registry, served on /metrics;
// give it to the component's Options.Registerer.
func (r *Runner) Registry() *prometheus.Registry { return r.reg }

// Logger is the component's logger (never nil).
func (r *Runner) Logger() *slog.Logger { return r.log }

// Handler is the runner's HTTP handler, for tests and embedding.
func (r *Runner) Handler() http.Handler { return r.handler }

// Handle serves h on pattern (http.ServeMux syntax). The route is named
// by the pattern in the request metrics. With Options.Auth it needs an
// admin token unless h is PerCustomer or Public.
func (r *Runner) Handle(pattern string, h http.Handler) { r.mux.Handle(pattern, r.guard(pattern, h)) }

// HandleIntake serves h on pattern as intake: once shutdown begins, new
// requests get 503 with Retry-After (a tracker retries elsewhere or
// later) and shutdown waits for the requests already in flight before it
// stops any worker.
func (r *Runner) HandleIntake(pattern string, h http.Handler) {
	inner := r.guard(pattern, h)
	var wrapped http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.intake.enter()
		defer r.intake.leave()
		if r.stopping.Load() {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, req)
	})
	r.mux.Handle(pattern, wrapped)
}

// AddReadyCheck makes /readyz depend on check (a dependency's ping).
func (r *Runner) AddReadyCheck(name string, check obs.ReadyCheck) { r.checks.add(name, check) }

// Go adds a worker: run is called once with a context that ends when the
// worker's phase is stopped; it must return then (after flushing). A
// worker that returns early, with or without an error, stops the whole
// component.
func (r *Runner) Go(p Phase, name string, run func(context.Context) error) {
	if p < 0 || p >= numPhases {
		panic(fmt.Sprintf("component: worker %q: unknown phase %d", name, p))
	}
	r.workers = append(r.workers, worker{phase: p, name: name, run: run})
}

// OnStop runs stop when phase p is stopped (closing a producer after the
// intake drained, for example).
func (r *Runner) OnStop(p Phase, name string, stop func() error) {
	r.Go(p, name, func(ctx context.Context) error {
		<-ctx.Done()
		return stop()
	})
}

// Run listens on Options.Addr (or uses Options.Listener), starts every
// worker and serves until ctx ends or a worker returns, then stops in the
// order described in the package doc. It returns the first worker or
// server error, joined with ErrShutdownTimeout if a phase overran.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("component: Run called twice")
	}
	ln := r.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", r.opts.Addr); err != nil {
			return fmt.Errorf("listen %s: %w", r.opts.Addr, err)
		}
	}
	if err := r.checkExposure(ln); err != nil {
		ln.Close()
		return err
	}
	srv := r.server()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	r.log.Info("component started", "addr", ln.Addr().String(), "workers", len(r.workers))

	type result struct {
		i   int
		err error
	}
	done := make(chan result, len(r.workers))
	stops := make([]context.CancelFunc, len(r.workers))
	finished := make([]chan struct{}, len(r.workers))
	errs := make([]error, len(r.workers))
	for i, w := range r.workers {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stops[i], finished[i] = cancel, make(chan struct{})
		go func() {
			err := w.run(wctx)
			errs[i] = err
			close(finished[i])
			done <- result{i, err}
		}()
	}

	var first error
	select {
	case <-ctx.Done():
		r.log.Info("stopping", "reason", context.Cause(ctx))
	case res := <-done:
		w := r.workers[res.i]
		if res.err != nil {
			first = fmt.Errorf("%s: %w", w.name, res.err)
			r.log.Error("worker failed; stopping", "worker", w.name, "err", res.err)
		} else {
			r.log.Warn("worker returned; stopping", "worker", w.name)
		}
	case err := <-serveErr:
		first = fmt.Errorf("http serve: %w", err)
		r.log.Error("http server failed; stopping", "err", err)
		serveErr <- err // read again below
	}
	timedOut := r.stop(stops, finished)
	for i := range r.workers {
		select {
		case <-finished[i]: // errs[i] is written before finished[i] closes
		default:
			continue // still running after the timeout
		}
		if err := errs[i]; err != nil && first == nil && !errors.Is(err, context.Canceled) {
			first = fmt.Errorf("%s: %w", r.workers[i].name, err)
		}
	}

	sctx, cancel := context.WithTimeout(context.Background(), r.opts.HTTPGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		r.log.Warn("http shutdown", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
		first = fmt.Errorf("http serve: %w", err)
	}
	if timedOut {
		first = errors.Join(first, ErrShutdownTimeout)
	}
	r.log.Info("component stopped", "err", first)
	return first
}

// stop marks the runner as stopping, drains the intake routes and stops
// each phase in order; it reports whether any step overran.
func (r *Runner) stop(stops []context.CancelFunc, finished []chan struct{}) (timedOut bool) {
	r.stopping.Store(true)
	if !r.intake.wait(r.opts.ShutdownTimeout) {
		r.log.Error("intake requests still in flight after the shutdown timeout", "timeout", r.opts.ShutdownTimeout)
		timedOut = true
	}
	for p := Phase(0); p < numPhases; p++ {
		var wg sync.WaitGroup
		for i, w := range r.workers {
			if w.phase != p {
				continue
			}
			stops[i]()
			wg.Add(1)
			go func() { defer wg.Done(); <-finished[i] }()
		}
		if !waitTimeout(wg.Wait, r.opts.ShutdownTimeout) {
			r.log.Error("workers did not stop within the shutdown timeout", "phase", p.String(), "timeout", r.opts.ShutdownTimeout)
			timedOut = true
		}
	}
	return timedOut
}

// waitTimeout calls wait and reports whether it returned within d.
func waitTimeout(wait func(), d time.Duration) bool {
	c := make(chan struct{})
	go func() { wait(); close(c) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c:
		return true
	case <-t.C:
		return false
	}
}

// inflight counts requests in flight; unlike a sync.WaitGroup it may be
// entered while someone waits for it to drain.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0, if someone waits
}

func (f *inflight) enter() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// wait reports whether no request was in flight within d.
func (f *inflight) wait(d time.Duration) bool {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return true
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}
