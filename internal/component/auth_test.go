package component

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuthentication checks which routes need the bearer token.
func TestAuthentication(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("fine")) })
	base, _ := start(t, Options{Name: "auth", Tokens: []string{"old-token", "s3cret"}}, func(r *Runner) {
		r.Handle("POST /v1/query", ok)
		r.HandleIntake("/i", Public(ok))
	})
	tests := []struct {
		name, method, path, token string
		want                      int
	}{
		{"liveness is open", "GET", "/healthz", "", 200},
		{"readiness is open", "GET", "/readyz", "", 200},
		{"metrics need a token", "GET", "/metrics", "", 401},
		{"metrics with a token", "GET", "/metrics", "s3cret", 200},
		{"route needs a token", "POST", "/v1/query", "", 401},
		{"wrong token", "POST", "/v1/query", "s3cre", 401},
		{"second token", "POST", "/v1/query", "old-token", 200},
		{"public intake", "GET", "/i", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
			if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	if want := `brooks_auth_requests_total{code="401",route="POST /v1/query"} 2`; !strings.Contains(b.String(), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// TestOpenOnlyOnLoopback checks a runner without tokens refuses an
// address others can reach, and serves it with tokens.
func TestOpenOnlyOnLoopback(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tokens []string
		refuse bool
	}{{"no tokens", nil, true}, {"tokens", []string{"s3cret"}, false}} {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "0.0.0.0:0")
			if err != nil {
				t.Fatal(err)
			}
			r := New(Options{Name: "exposed", Listener: ln, Tokens: tt.tokens})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err = r.Run(ctx)
			if refused := errors.Is(err, ErrUnauthenticated); refused != tt.refuse {
				t.Errorf("Run = %v, want refused=%v", err, tt.refuse)
			}
		})
	}
}
