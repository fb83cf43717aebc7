package component

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// start runs r on a real loopback listener and returns its base URL and
// a function that stops it and returns Run's error.
func start(t *testing.T, o Options, setup func(r *Runner)) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Listener = ln
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	r := New(o)
	setup(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return 30 s after its context ended")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestShutdownOrder checks the documented order: readiness off and intake
// drained, then Intake, Work and Ledger workers one phase after the other,
// with /metrics and /readyz still served until the end, then the server.
func TestShutdownOrder(t *testing.T) {
	var mu sync.Mutex
	var events []string
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	inFlight := make(chan struct{})
	release := make(chan struct{})
	var base string
	base, stop := start(t, Options{Name: "order"}, func(r *Runner) {
		r.HandleIntake("/in", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(inFlight)
			<-release
			record("intake request done")
			io.WriteString(w, "took it")
		}))
		for _, w := range []struct {
			p    Phase
			name string
		}{{Ledger, "ledger"}, {Work, "work-a"}, {Intake, "poller"}, {Work, "work-b"}} {
			r.Go(w.p, w.name, func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(20 * time.Millisecond) // a flush
				if w.p == Work {
					// While Work drains, the HTTP server still answers:
					// /metrics for scrapes, /readyz as not ready.
					if code, _ := get(t, base+"/metrics"); code != 200 {
						record("metrics " + http.StatusText(code))
					}
					if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
						record("readyz still ready")
					}
				}
				record(w.name + " stopped")
				return nil
			})
		}
	})
	reqDone := make(chan string)
	go func() {
		_, body := get(t, base+"/in")
		reqDone <- body
	}()
	<-inFlight
	stopped := make(chan error)
	go func() { stopped <- stop() }()
	// Shutdown has begun: a new intake request is refused while the first
	// one is still in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/in")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 during shutdown without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("intake still open 5 s after shutdown began: %d", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
	record("release")
	close(release)
	if body := <-reqDone; body != "took it" {
		t.Errorf("in-flight intake request got %q", body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answering after Run returned")
	}
	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(events, ", ")
	// work-a and work-b stop concurrently, in either order.
	got = strings.Replace(got, "work-b stopped, work-a stopped", "work-a stopped, work-b stopped", 1)
	want := "release, intake request done, poller stopped, work-a stopped, work-b stopped, ledger stopped"
	if got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
}

// TestWorkerFailure checks that a failing worker stops the others (the
// ledger still gets its last flush) and that Run returns its error.
func TestWorkerFailure(t *testing.T) {
	boom := errors.New("boom")
	ledgerFlushed := make(chan struct{})
	_, stop := start(t, Options{Name: "fail"}, func(r *Runner) {
		r.Go(Work, "broken", func(context.Context) error { return boom })
		r.Go(Ledger, "ledger", func(ctx context.Context) error {
			<-ctx.Done()
			close(ledgerFlushed)
			return nil
		})
	})
	select {
	case <-ledgerFlushed:
	case <-time.After(10 * time.Second):
		t.Fatal("the ledger was not stopped after a worker failed")
	}
	err := stop()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Run = %v, want the worker's error naming it", err)
	}
}

// TestShutdownTimeout checks that a worker that ignores its context makes
// Run return ErrShutdownTimeout after the timeout, not hang.
func TestShutdownTimeout(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	_, stop := start(t, Options{Name: "stuck", ShutdownTimeout: 200 * time.Millisecond}, func(r *Runner) {
		r.Go(Work, "stuck", func(context.Context) error { <-hang; return nil })
	})
	t0 := time.Now()
	if err := stop(); !errors.Is(err, ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("Run took %v to give up", d)
	}
}

// TestReadiness checks /readyz against its checks and /healthz without.
func TestReadiness(t *testing.T) {
	var mu sync.Mutex
	fail := errors.New("connection refused")
	base, _ := start(t, Options{Name: "ready"}, func(r *Runner) {
		r.AddReadyCheck("kafka", func(context.Context) error { return nil })
		r.AddReadyCheck("cassandra", func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return fail
		})
		r.AddReadyCheck("slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	})
	tests := []struct {
		name     string
		err      error
		status   int
		contains []string
		lacks    []string
	}{
		{"one down", errors.New("connection refused"), 503, []string{"cassandra: connection refused", "slow: context deadline exceeded"}, []string{"kafka"}},
		{"still down", errors.New("timeout"), 503, []string{"cassandra: timeout"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			fail = tt.err
			mu.Unlock()
			code, body := get(t, base+"/readyz")
			if code != tt.status {
				t.Errorf("status %d, want %d: %s", code, tt.status, body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body %q lacks %q", body, s)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(body, s) {
					t.Errorf("body %q names %q", body, s)
				}
			}
		})
	}
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
}

// TestReadyWhenChecksPass checks 200 "ready" with passing checks.
func TestReadyWhenChecksPass(t *testing.T) {
	base, _ := start(t, Options{Name: "ready"}, func(r *Runner) {
		r.AddReadyCheck("kafka", func(context.Context) error { return nil })
	})
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
}

// TestMiddleware checks the request metrics: by matched pattern and the
// status the handler wrote (200 when it wrote none), 404s as "other".
func TestMiddleware(t *testing.T) {
	base, _ := start(t, Options{Name: "mw-test"}, func(r *Runner) {
		r.Handle("POST /v1/thing", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusOK) // ignored by net/http; the first status counts
		}))
		r.Handle("GET /v1/quiet", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	})
	for range 3 {
		resp, err := http.Post(base+"/v1/thing", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get(t, base+"/v1/quiet")
	get(t, base+"/nowhere")
	_, m := get(t, base+"/metrics")
	for _, want := range []string{
		`brooks_mw_test_requests_total{code="418",route="POST /v1/thing"} 3`,
		`brooks_mw_test_requests_total{code="200",route="GET /v1/quiet"} 1`,
		`brooks_mw_test_requests_total{code="404",route="other"} 1`,
		`brooks_mw_test_request_duration_seconds_count{route="POST /v1/thing"} 3`,
		`go_goroutines`, `process_cpu_seconds_total`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServerTimeouts checks every limit is set on the server, and that a
// client that never finishes its headers is cut off.
func TestServerTimeouts(t *testing.T) {
	o := Options{Name: "limits", ReadHeaderTimeout: 200 * time.Millisecond}
	srv := New(o).server()
	d := DefaultOptions()
	if srv.ReadHeaderTimeout != 200*time.Millisecond || srv.ReadTimeout != d.ReadTimeout || srv.WriteTimeout != d.WriteTimeout ||
		srv.IdleTimeout != d.IdleTimeout || srv.MaxHeaderBytes != d.MaxHeaderBytes {
		t.Errorf("server limits %v %v %v %v %d, want %v and the defaults", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes, o.ReadHeaderTimeout)
	}
	for _, v := range []time.Duration{d.ReadHeaderTimeout, d.ReadTimeout, d.WriteTimeout, d.IdleTimeout} {
		if v <= 0 {
			t.Errorf("a default timeout is %v", v)
		}
	}
	base, _ := start(t, o, func(*Runner) {})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // never ends the headers
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	t0 := time.Now()
	_, err = io.ReadAll(conn)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("server closed the slow connection after %v", d)
	}
	// Headers over the limit are refused.
	big := strings.Repeat("a", DefaultOptions().MaxHeaderBytes+4096)
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", big)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized headers: %d, want 431", resp.StatusCode)
	}
}

// TestListenError checks a port in use fails Run before any worker starts.
func TestListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := New(Options{Name: "busy", Addr: ln.Addr().String()})
	started := false
	r.Go(Work, "w", func(ctx context.Context) error { started = true; <-ctx.Done(); return nil })
	if err := r.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Run = %v, want a listen error", err)
	}
	if started {
		t.Error("a worker started although the server could not listen")
	}
}
