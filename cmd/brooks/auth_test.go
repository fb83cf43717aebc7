package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// captureLogs sends the commands' logs to a buffer for the test.
func captureLogs(t *testing.T) *testenv.LogBuffer {
	t.Helper()
	var buf testenv.LogBuffer
	old := obs.Stderr
	obs.Stderr = &buf
	t.Cleanup(func() { obs.Stderr = old })
	return &buf
}

// mintToken runs `brooks token new` and returns the token it printed.
func mintToken(t *testing.T, file string, flags ...string) string {
	t.Helper()
	code, out, errOut := runCapture(t, append([]string{"token", "new", "--api-tokens-file", file, "--log-level", "debug"}, flags...)...)
	if code != exitOK {
		t.Fatalf("token new %v: exit %d: %s", flags, code, errOut)
	}
	return strings.TrimSpace(out)
}

// TestTokenNew: `brooks token new` prints a token once, stores only its
// hash (mode 0600), and logs neither.
func TestTokenNew(t *testing.T) {
	t.Setenv("BROOKS_STATE", t.TempDir())
	logs := captureLogs(t)
	file := filepath.Join(t.TempDir(), "sub", "tokens.yaml")
	admin := mintToken(t, file, "--admin")
	acme := mintToken(t, file, "--customer", "acme.example")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{admin, acme} {
		if !strings.HasPrefix(tok, auth.TokenPrefix) {
			t.Fatalf("printed %q, want a %s token", tok, auth.TokenPrefix)
		}
		if strings.Contains(string(data), tok) || strings.Contains(string(data), strings.TrimPrefix(tok, auth.TokenPrefix)) {
			t.Fatalf("the tokens file holds a token:\n%s", data)
		}
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token is in the log:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "token added") {
		t.Errorf("no log of the added token:\n%s", logs.String())
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode %v, want 0600", st.Mode().Perm())
	}
	toks, err := auth.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := toks.Authenticate("Bearer " + admin); err != nil || !p.Admin {
		t.Errorf("admin token: %+v, %v", p, err)
	}
	if p, err := toks.Authenticate("Bearer " + acme); err != nil || p.Customer != "acme.example" || p.Admin {
		t.Errorf("acme token: %+v, %v", p, err)
	}
	for _, args := range [][]string{
		{"token", "new", "--admin"}, // no api_tokens_file
		{"token", "new", "--api-tokens-file", file},
		{"token", "new", "--api-tokens-file", file, "--admin", "--customer", "acme.example"},
		{"token", "new", "--api-tokens-file", file, "--customer", "nope.example"},
	} {
		if code, _, _ := runCapture(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCommand runs a component command until the test ends and waits for
// its /healthz.
func startCommand(t *testing.T, addr string, args ...string) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	var code int
	go func() { code = runContext(ctx, args); close(done) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Errorf("%s did not stop", args[0])
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("%v exited %d at start", args, code)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: no /healthz after 30 s", args)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestComponentsAuthenticate is the 401/403 table through the routes of
// every serving command run with an api_tokens_file: the collector, legacy
// serve, nextgen serve and the proxy (whose backends get the caller's
// token). No token appears in any log.
func TestComponentsAuthenticate(t *testing.T) {
	cfg := testenv.Require(t, testenv.Kafka, testenv.Redis, testenv.FerretDB, testenv.Elasticsearch)
	logs := captureLogs(t)
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	admin := mintToken(t, file, "--admin")
	acme := mintToken(t, file, "--customer", "acme.example")
	wrong := auth.TokenPrefix + strings.Repeat("A", 43)
	common := []string{"--api-tokens-file", file, "--customers-file", cfg.CustomersFile, "--log-level", "debug"}
	collector, legacyAddr, nextgen, proxy := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	startCommand(t, collector, append([]string{"collector", "--http-addr", collector, "--ledger=false", "--topic", testenv.Name("auth")}, common...)...)
	startCommand(t, legacyAddr, append([]string{"legacy", "serve", "--http-addr", legacyAddr, "--key-prefix", testenv.Name("auth") + ":",
		"--mongo-database", testenv.Name("auth")}, common...)...)
	startCommand(t, nextgen, append([]string{"nextgen", "serve", "--http-addr", nextgen, "--raw=false", "--index-prefix", strings.ToLower(testenv.Name("auth"))}, common...)...)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	startCommand(t, proxy, append([]string{"proxy", "--http-addr", proxy, "--compare=false",
		"--cutover-file", filepath.Join(root, "deploy/local/cutover.yaml"), "--rules-file", filepath.Join(root, "deploy/rules/expected-differences.yaml"),
		"--legacy-url", "http://" + legacyAddr, "--nextgen-url", "http://" + nextgen}, common...)...)

	q := func(c string) string {
		return `{"customer":"` + c + `","metrics":["pageviews"],"from":"2026-11-25T00:00:00Z","to":"2026-11-26T00:00:00Z","interval":"1d"}`
	}
	const served = 0 // the route answered: anything but 401 and 403
	tests := []struct {
		name, addr, method, path, body, token string
		want                                  int
	}{}
	for _, c := range []struct{ name, addr string }{{"collector", collector}, {"legacy", legacyAddr}, {"nextgen", nextgen}, {"proxy", proxy}} {
		tests = append(tests, []struct {
			name, addr, method, path, body, token string
			want                                  int
		}{
			{c.name + " healthz open", c.addr, "GET", "/healthz", "", "", 200},
			{c.name + " readyz open", c.addr, "GET", "/readyz", "", "", served},
			{c.name + " metrics no token", c.addr, "GET", "/metrics", "", "", 401},
			{c.name + " metrics wrong token", c.addr, "GET", "/metrics", "", wrong, 401},
			{c.name + " metrics customer token", c.addr, "GET", "/metrics", "", acme, 403},
			{c.name + " metrics admin", c.addr, "GET", "/metrics", "", admin, 200},
		}...)
	}
	for _, c := range []struct{ name, addr string }{{"legacy", legacyAddr}, {"nextgen", nextgen}, {"proxy", proxy}} {
		tests = append(tests, []struct {
			name, addr, method, path, body, token string
			want                                  int
		}{
			{c.name + " query no token", c.addr, "POST", "/v1/query", q("acme.example"), "", 401},
			{c.name + " query wrong token", c.addr, "POST", "/v1/query", q("acme.example"), wrong, 401},
			{c.name + " query own customer", c.addr, "POST", "/v1/query", q("acme.example"), acme, 200},
			{c.name + " query other customer", c.addr, "POST", "/v1/query", q("globex.example"), acme, 403},
			{c.name + " query admin", c.addr, "POST", "/v1/query", q("globex.example"), admin, 200},
		}...)
	}
	tests = append(tests, []struct {
		name, addr, method, path, body, token string
		want                                  int
	}{
		{"collector tracker endpoint is public", collector, "GET", "/i?e=pv&aid=acme.example&url=https%3A%2F%2Facme.example%2F", "", "", served},
		{"nextgen raw no token", nextgen, "GET", "/v1/raw?customer=acme.example", "", "", 401},
		{"nextgen raw other customer", nextgen, "GET", "/v1/raw?customer=globex.example", "", acme, 403},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://"+tt.addr+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case tt.want == served && (resp.StatusCode == 401 || resp.StatusCode == 403):
				t.Errorf("%s %s = %d, want it served: %s", tt.method, tt.path, resp.StatusCode, b)
			case tt.want != served && resp.StatusCode != tt.want:
				t.Errorf("%s %s = %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.want, b)
			}
		})
	}
	for _, tok := range []string{admin, acme, wrong} {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token is in the log")
		}
	}
	if !strings.Contains(logs.String(), "request refused") {
		t.Errorf("no refusal in the debug log")
	}
}
