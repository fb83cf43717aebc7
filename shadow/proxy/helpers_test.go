package proxy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/evidence"
)

// newEvidence makes a keyspace of the test's own on the real Cassandra
// with the evidence tables, dropped when the test ends.
func newEvidence(t testing.TB) *evidence.Store {
	t.Helper()
	cfg := testenv.Require(t, testenv.Cassandra)
	ks := testenv.Name("shadowev")
	ctx := testenv.Context(t, 2*time.Minute)
	if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	s, err := cass.Connect(cfg.CassandraHosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
		s.Close()
	})
	if err := evidence.Migrate(ctx, s, ks); err != nil {
		t.Fatal(err)
	}
	return evidence.NewStore(s, ks, evidence.Options{TTL: time.Hour})
}

// tokenSet is an admin token and one read token per customer.
type tokenSet struct {
	tokens *auth.Tokens
	admin  string
	read   map[string]string
}

func newTokens(t testing.TB, customers ...string) tokenSet {
	t.Helper()
	ts := tokenSet{read: map[string]string{}}
	var entries []auth.Entry
	tok, e, err := auth.NewToken("", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts.admin, entries = tok, append(entries, e)
	for _, c := range customers {
		tok, e, err := auth.NewToken(c, false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ts.read[c] = tok
		entries = append(entries, e)
	}
	if ts.tokens, err = auth.New(entries...); err != nil {
		t.Fatal(err)
	}
	return ts
}

// do sends a request with an optional bearer token and returns status,
// headers and body.
func do(t testing.TB, method, url, token, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// refusedURL is a loopback URL nothing listens on.
func refusedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}
