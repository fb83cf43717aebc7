package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/certify"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// TestAuditServeAPI runs brooks audit serve with an api_tokens_file on a
// fresh keyspace: its admin API answers admin tokens only, the ledger
// report names an unknown customer alone, and the certificate list shows
// the certificates its own first round issued: inconclusive (the query
// APIs refuse connections), with digests that verify.
func TestAuditServeAPI(t *testing.T) {
	cfg := testenv.Require(t, testenv.Cassandra)
	ks := testenv.Name("auditapi")
	ctx := testenv.Context(t, time.Minute)
	if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	s, err := cass.Connect(cfg.CassandraHosts, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := ledger.Migrate(ctx, s, ks); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec() })
	if err := certify.Migrate(ctx, s, ks); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	admin := mintToken(t, file, "--admin")
	acme := mintToken(t, file, "--customer", "acme.example")
	addr, refused := freeAddr(t), "http://"+freeAddr(t)
	startCommand(t, addr, "audit", "serve", "--http-addr", addr, "--api-tokens-file", file, "--customers-file", cfg.CustomersFile,
		"--keyspace", ks, "--archive-dir", t.TempDir(), "--legacy-url", refused, "--nextgen-url", refused, "--no-raw-store", "--interval", "1h")

	report := "/v1/ledger/report?customer=acme.example&from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z"
	for _, tt := range []struct {
		path, token string
		want        int
		body        string
	}{
		{report, "", 401, ""},
		{report, acme, 403, ""},
		{report, admin, 200, `"customer": "acme.example"`},
		{"/v1/ledger/report?customer=nope.example", admin, 400, `unknown customer \"nope.example\"`},
		{"/v1/ledger/report?customer=acme.example&from=soon", admin, 400, "from:"},
		{"/v1/audit/runs", "", 401, ""},
		{"/v1/audit/runs", acme, 403, ""},
		{"/v1/audit/runs", admin, 200, `{"runs":[`},
	} {
		code, b := getWith(t, "http://"+addr+tt.path, tt.token)
		if code != tt.want || !strings.Contains(b, tt.body) {
			t.Errorf("GET %s (token %v): %d %s, want %d with %q", tt.path, tt.token != "", code, b, tt.want, tt.body)
		}
		if tt.want == 400 && strings.Contains(b, "globex") {
			t.Errorf("GET %s: names other customers: %s", tt.path, b)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct {
			Runs []certify.Summary `json:"runs"`
		}
		code, b := getWith(t, "http://"+addr+"/v1/audit/runs?customer=globex.example", admin)
		if err := json.Unmarshal([]byte(b), &out); code != 200 || err != nil {
			t.Fatalf("runs: %d %s", code, b)
		}
		if len(out.Runs) > 0 {
			for _, r := range out.Runs {
				if r.Customer != "globex.example" || r.Verdict != "inconclusive" || r.Clean || !r.Valid || len(r.Digest) != 64 {
					t.Errorf("run %+v: want globex's inconclusive certificate with a valid digest", r)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no certificate listed 30 s after audit serve started")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func getWith(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
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
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
