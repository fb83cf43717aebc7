package component

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// testTokens is an admin token and a read token of acme.example.
func testTokens(t *testing.T) (toks *auth.Tokens, admin, acme string) {
	t.Helper()
	admin, ae, err := auth.NewToken("", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	acme, ce, err := auth.NewToken("acme.example", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if toks, err = auth.New(ae, ce); err != nil {
		t.Fatal(err)
	}
	return toks, admin, acme
}

// customerHandler serves ?customer=C to principals that may read C, as
// the query APIs do.
var customerHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.FromContext(r.Context())
	c := r.URL.Query().Get("customer")
	if !ok || !p.CanRead(c) {
		auth.Forbid(w, p, c)
		return
	}
	io.WriteString(w, "fine")
})

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fine") })

func call(t *testing.T, method, url, header string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAuthentication is the 401/403 table through every kind of route: the
// probes, /metrics, an admin route, a per-customer route and a public one.
func TestAuthentication(t *testing.T) {
	toks, admin, acme := testTokens(t)
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base, _ := start(t, Options{Name: "auth", Auth: toks, Logger: log}, func(r *Runner) {
		r.Handle("POST /v1/admin", okHandler)
		r.Handle("GET /v1/data", PerCustomer(customerHandler))
		r.HandleIntake("/i", Public(okHandler))
	})
	bearer := func(tok string) string { return "Bearer " + tok }
	wrong := "brk_" + strings.Repeat("A", 43)
	tests := []struct {
		name, method, path, header string
		want                       int
	}{
		{"liveness is open", "GET", "/healthz", "", 200},
		{"readiness is open", "GET", "/readyz", "", 200},
		{"public intake", "GET", "/i", "", 200},
		{"public intake ignores a bad token", "GET", "/i", bearer(wrong), 200},
		{"metrics: no token", "GET", "/metrics", "", 401},
		{"metrics: wrong token", "GET", "/metrics", bearer(wrong), 401},
		{"metrics: customer token", "GET", "/metrics", bearer(acme), 403},
		{"metrics: admin", "GET", "/metrics", bearer(admin), 200},
		{"admin route: no token", "POST", "/v1/admin", "", 401},
		{"admin route: basic auth", "POST", "/v1/admin", "Basic YWRtaW46YWRtaW4=", 401},
		{"admin route: empty bearer", "POST", "/v1/admin", "Bearer ", 401},
		{"admin route: customer token", "POST", "/v1/admin", bearer(acme), 403},
		{"admin route: admin", "POST", "/v1/admin", bearer(admin), 200},
		{"per customer: no token", "GET", "/v1/data?customer=acme.example", "", 401},
		{"per customer: wrong token", "GET", "/v1/data?customer=acme.example", bearer(wrong), 401},
		{"per customer: own customer", "GET", "/v1/data?customer=acme.example", bearer(acme), 200},
		{"per customer: other customer", "GET", "/v1/data?customer=globex.example", bearer(acme), 403},
		{"per customer: admin", "GET", "/v1/data?customer=globex.example", bearer(admin), 200},
		{"unknown route: no token", "GET", "/nothing", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := call(t, tt.method, base+tt.path, tt.header)
			if code != tt.want {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.path, code, tt.want, body)
			}
			if code == 401 && (!strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, `"code":"unauthorized"`)) {
				t.Errorf("401 without WWW-Authenticate: Bearer or code unauthorized: %q", body)
			}
			if code == 403 && !strings.Contains(body, `"code":"forbidden"`) {
				t.Errorf("403 without code forbidden: %q", body)
			}
			for _, tok := range []string{admin, acme, wrong} {
				if strings.Contains(body, tok) {
					t.Errorf("the answer repeats a token: %q", body)
				}
			}
		})
	}
	_, _, metrics := call(t, "GET", base+"/metrics", bearer(admin))
	for _, want := range []string{
		`brooks_auth_requests_total{code="401",route="POST /v1/admin"} 3`,
		`brooks_auth_auth_refused_total{code="403",route="GET /metrics"} 1`,
		`brooks_auth_auth_refused_total{code="401",route="GET /v1/data"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(logs.String(), "request refused") {
		t.Fatalf("no refusal in the captured log:\n%s", logs.String())
	}
	for _, tok := range []string{admin, acme, wrong} {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token is in the log:\n%s", logs.String())
		}
	}
}

// TestLoopbackPrincipal checks a runner without tokens gives every request
// the Loopback principal, so per-customer handlers answer.
func TestLoopbackPrincipal(t *testing.T) {
	base, _ := start(t, Options{Name: "open"}, func(r *Runner) {
		r.Handle("GET /v1/data", PerCustomer(customerHandler))
		r.Handle("GET /v1/admin", okHandler)
	})
	for _, path := range []string{"/v1/data?customer=acme.example", "/v1/admin", "/metrics"} {
		if code, _, body := call(t, "GET", base+path, ""); code != 200 {
			t.Errorf("GET %s without tokens = %d: %s", path, code, body)
		}
	}
}

// TestOpenOnlyOnLoopback checks a runner without tokens refuses an
// address others can reach, and serves it with tokens.
func TestOpenOnlyOnLoopback(t *testing.T) {
	toks, _, _ := testTokens(t)
	for _, tt := range []struct {
		name   string
		auth   Authenticator
		refuse bool
	}{{"no tokens", nil, true}, {"tokens", toks, false}} {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "0.0.0.0:0")
			if err != nil {
				t.Fatal(err)
			}
			r := New(Options{Name: "exposed", Listener: ln, Auth: tt.auth})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err = r.Run(ctx)
			if refused := errors.Is(err, ErrUnauthenticated); refused != tt.refuse {
				t.Errorf("Run = %v, want refused=%v", err, tt.refuse)
			}
		})
	}
}
