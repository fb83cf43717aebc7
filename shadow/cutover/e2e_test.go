package cutover_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
	"github.com/brooksdata/brooks/shadow/proxy"
)

const (
	goLive  = "acme.example"    // advances to live, then a planted fault rolls it back
	blocked = "globex.example"  // shadow with an open mismatch: its gates block
	stays   = "initech.example" // stays legacy
)

// plantCertificates creates the audit's certificate table (the columns
// cutover.Certificates reads, as audit/certify declares them) and a clean
// certificate for each customer and each of the days around today.
func plantCertificates(t *testing.T, s *gocql.Session, ks string, customers ...string) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	if err := s.Query(fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.audit_certificates (customer text, day text, issued_at timestamp,
		verdict text, clean boolean, digest text, body text, PRIMARY KEY ((customer), day)) WITH CLUSTERING ORDER BY (day DESC)`, ks)).WithContext(ctx).Exec(); err != nil {
		t.Fatal(err)
	}
	for _, c := range customers {
		for d := -3; d <= 1; d++ {
			day := time.Now().UTC().AddDate(0, 0, d).Format("2006-01-02")
			if err := s.Query(fmt.Sprintf(`INSERT INTO %s.audit_certificates (customer, day, issued_at, verdict, clean) VALUES (?, ?, ?, 'clean', true)`, ks),
				c, day, time.Now()).WithContext(ctx).Exec(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCutoverEndToEnd runs the platform on the real servers with the
// states in Cassandra: two proxies and the comparer read them (polled),
// the controller moves them. The comparer's settle clock runs two days
// ahead, so every bucket counts as settled without waiting (its settle
// window is then the comparer's pace: a comparison is evidence at once).
func TestCutoverEndToEnd(t *testing.T) {
	st := runStack(t, loadgen.Options{Seed: 12, Events: 4000, Visitors: 300})
	store, sess, ks := newStore(t)
	ctx := testenv.Context(t, 10*time.Minute)
	if err := evidence.Migrate(ctx, sess, ks); err != nil {
		t.Fatal(err)
	}
	ev := evidence.NewStore(sess, ks, evidence.Options{TTL: time.Hour})
	plantCertificates(t, sess, ks, goLive)
	rules, err := diff.LoadConfig(filepath.Join(testenv.RepoRoot(t), "deploy", "rules", "expected-differences.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	co := compare.DefaultOptions()
	co.Legacy, co.Nextgen, co.States, co.Customers, co.Store = st.legacy, st.nextgen, cutover.NewPolled(cutover.NewStore(session(t, ks), ks), 200*time.Millisecond, nil), st.customers.IDs(), ev
	co.Rules, co.Tolerances, co.Registerer = rules.Rules, rules.Tolerances, prometheus.NewRegistry()
	co.Pace, co.RecheckPoll = 20*time.Millisecond, 50*time.Millisecond
	co.SettleNow = func() time.Time { return time.Now().Add(49 * time.Hour) }
	comparer, err := compare.New(co)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "comparer", comparer.Run)

	// Two proxies, each with its own session and polled copy of the states.
	admin, adminEntry, _ := auth.NewToken("", true, time.Now())
	read, readEntry, _ := auth.NewToken(goLive, false, time.Now())
	tokens, err := auth.New(adminEntry, readEntry)
	if err != nil {
		t.Fatal(err)
	}
	var proxies []string
	for range 2 {
		o := proxy.DefaultOptions()
		o.LegacyURL, o.NextgenURL, o.Tokens, o.Customers = st.legacyURL, st.nextgenURL, tokens, st.customers
		o.States = cutover.NewPolled(cutover.NewStore(session(t, ks), ks), 200*time.Millisecond, nil)
		p, err := proxy.New(o)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(p.Handler())
		t.Cleanup(ts.Close)
		proxies = append(proxies, ts.URL)
	}
	from, to := st.span()
	servedBy := func(url string) string {
		body := fmt.Sprintf(`{"customer":%q,"metrics":["pageviews"],"from":%q,"to":%q,"interval":"5m"}`, goLive, from.Format(time.RFC3339), to.Format(time.RFC3339))
		req, _ := http.NewRequest("POST", url+"/v1/query", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+read)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("proxy query: %s", resp.Status)
		}
		return resp.Header.Get(proxy.HeaderServedBy)
	}
	// everyProxy waits until both proxies serve goLive from want and returns
	// how long after since the slower one did.
	everyProxy := func(want string, since time.Time) time.Duration {
		var slowest time.Duration
		for _, u := range proxies {
			for servedBy(u) != want {
				if time.Since(since) > 5*time.Second {
					t.Fatalf("proxy %s still not served by %s %s after the write", u, want, time.Since(since))
				}
				time.Sleep(20 * time.Millisecond)
			}
			slowest = max(slowest, time.Since(since))
		}
		return slowest
	}

	gates := &cutover.Gates{Options: cutover.GateOptions{SettleWindow: 5 * time.Minute, DataLookback: 24 * time.Hour, AuditDays: 1,
		EvidenceWindow: time.Hour, MinMatchRate: 0.999, MinSettled: 20, MinCoverage: 0.95, MaxFreshnessP99: time.Minute, LiveFor: time.Hour},
		Evidence: cutover.EvidenceSummaries{Reader: ev, Options: evidence.SummaryOptions{Shapes: matrix.SyntheticIDs()}},
		Audit:    cutover.Certificates{Session: sess, Keyspace: ks}, Nextgen: st.nextgen, Freshness: cutover.GathererFreshness{Gatherer: st.engineReg},
		// The traffic is minutes old: the gates' clock runs 10 minutes
		// ahead so that it is older than the 5-minute settle window.
		Now: func() time.Time { return time.Now().Add(10 * time.Minute) }}
	reg := prometheus.NewRegistry()
	ctl, err := cutover.New(cutover.Options{Store: store, Gates: gates, Customers: st.customers.IDs(), Interval: 200 * time.Millisecond,
		RollbackWindow: 30 * time.Minute, MaxMismatchRate: 0.01, MaxErrorRate: 0.05, RollbackMinComparisons: 5, HoldDown: time.Hour, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "controller", ctl.Run)
	api := httptest.NewServer(apiMux(tokens, ctl))
	t.Cleanup(api.Close)

	t.Run("legacy to shadow: nextgen has data", func(t *testing.T) {
		for _, c := range []string{goLive, blocked} {
			r, gs, err := ctl.Advance(ctx, cutover.Request{Customer: c, Actor: "test", Reason: "start shadowing", From: cutover.Legacy})
			if err != nil || r.State != cutover.Shadow || len(gs) != 1 || gs[0].Name != "nextgen_data" || !gs[0].Pass {
				t.Fatalf("%s: %+v %v %v", c, r, gs, err)
			}
		}
		_, _, err := ctl.Advance(ctx, cutover.Request{Customer: goLive, Actor: "test", Reason: "again", From: cutover.Legacy})
		var ce *cutover.ConflictError
		if !errors.As(err, &ce) || ce.Current.State != cutover.Shadow {
			t.Errorf("advance from a state it is no longer in: %v, want a conflict showing shadow", err)
		}
	})

	t.Run("gates block a customer with an open mismatch", func(t *testing.T) {
		k := pickPost(t, st, blocked)
		undo := st.plantNextgen(t, blocked, k.URL, k.Bucket, 7)
		t.Cleanup(func() { undo(t) })
		deadline := time.Now().Add(3 * time.Minute)
		for {
			ms, err := ev.Mismatches(ctx, blocked, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no open mismatch after the planted fault")
			}
			time.Sleep(300 * time.Millisecond)
		}
		_, gs, err := ctl.Advance(ctx, cutover.Request{Customer: blocked, Actor: "test", Reason: "try"})
		var ge *cutover.GateError
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), "open_mismatches = ") {
			t.Fatalf("advance with an open mismatch: %v, want a gate error naming open_mismatches", err)
		}
		for _, g := range gs {
			if g.Name == "open_mismatches" && (g.Pass || g.Value == "0") {
				t.Errorf("open_mismatches gate %+v", g)
			}
			if g.Name == "audit_clean_days" && (g.Pass || !strings.Contains(g.Detail, "no audit evidence")) {
				t.Errorf("audit gate without certificates: %+v, want a fail saying no audit evidence", g)
			}
		}
		t.Logf("refused: %v", err)
		if r, _ := store.Get(ctx, blocked); r.State != cutover.Shadow {
			t.Errorf("a refused advance moved %s to %s", blocked, r.State)
		}
		status, body := call(t, "POST", api.URL+cutover.PathCustomers+"/"+blocked+"/advance", admin, `{"reason":"via api"}`)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `"gate_unmet"`) || !strings.Contains(body, "open_mismatches") {
			t.Errorf("API advance: %d %.400s", status, body)
		}
	})

	var liveAt time.Time
	t.Run("clean evidence advances to live and every proxy switches", func(t *testing.T) {
		if servedBy(proxies[0]) != "legacy" {
			t.Fatal("shadow customer not served by legacy")
		}
		deadline := time.Now().Add(4 * time.Minute)
		for {
			_, _, gs, err := ctl.NextGates(ctx, goLive)
			if err != nil {
				t.Fatal(err)
			}
			if len(cutover.Failing(gs)) == 0 {
				for _, g := range gs {
					t.Logf("gate %s", g)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("gates never passed: %v", cutover.Failing(gs))
			}
			time.Sleep(500 * time.Millisecond)
		}
		r, _, err := ctl.Advance(ctx, cutover.Request{Customer: goLive, Actor: "test", Reason: "evidence clean", From: cutover.Shadow})
		if err != nil || r.State != cutover.Live {
			t.Fatalf("advance to live: %+v %v", r, err)
		}
		liveAt = r.ChangedAt
		d := everyProxy("nextgen", liveAt)
		t.Logf("FIGURE state write → every proxy (2) serving by it: %s", d)
		if d > 2*time.Second {
			t.Errorf("proxies applied the change after %s, want within 2 s", d)
		}
	})

	t.Run("planted nextgen fault on a live customer rolls it back", func(t *testing.T) {
		if liveAt.IsZero() {
			t.Skip("not live")
		}
		// Control: live without a fault, the window fills with settled
		// comparisons and nothing crosses a limit.
		deadline := time.Now().Add(time.Minute)
		for {
			r, _ := store.Get(ctx, goLive)
			if r.State != cutover.Live {
				t.Fatalf("rolled back before any fault: %+v", r)
			}
			gs, crossed, err := ctl.RollbackEvidence(ctx, r)
			if err != nil || crossed {
				t.Fatalf("clean live customer: %v crossed %v (%v)", gs, crossed, err)
			}
			if !strings.Contains(gs[0].Detail, "not judged") {
				t.Logf("control, before the fault: %v", gs)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the window never filled: %v", gs)
			}
			time.Sleep(100 * time.Millisecond)
		}
		k := pickPost(t, st, goLive)
		planted := time.Now()
		undo := st.plantNextgen(t, goLive, k.URL, k.Bucket, 9)
		t.Cleanup(func() { undo(t) })
		deadline = time.Now().Add(3 * time.Minute)
		var r cutover.Record
		for {
			var err error
			if r, err = store.Get(ctx, goLive); err != nil {
				t.Fatal(err)
			}
			if r.State != cutover.Live {
				break
			}
			if time.Now().After(deadline) {
				gs, crossed, err := ctl.RollbackEvidence(ctx, r)
				ms, _ := ev.Mismatches(ctx, goLive, false)
				t.Fatalf("no automatic rollback 3 min after the planted fault: evidence %v crossed %v err %v; %d open mismatches; round errors %g",
					gs, crossed, err, len(ms), counter(t, reg, "brooks_cutover_round_errors_total"))
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("FIGURE planted fault → automatic rollback written: %s", r.ChangedAt.Sub(planted))
		if r.State != cutover.Shadow {
			t.Fatalf("rolled back to %s", r.State)
		}
		h, err := store.History(ctx, goLive)
		if err != nil || len(h) != 3 {
			t.Fatalf("history %+v %v", h, err)
		}
		last := h[2]
		if last.Actor != cutover.ActorController || last.From != cutover.Live || last.To != cutover.Shadow || !strings.Contains(last.Reason, "mismatch_rate") {
			t.Errorf("last history entry %+v", last)
		}
		if f := cutover.Failing(last.Evidence); len(f) == 0 || f[0].Name != "mismatch_rate" {
			t.Errorf("rollback evidence %+v", last.Evidence)
		}
		t.Logf("history: %s: %s (%v)", last.Actor, last.Reason, last.Evidence)
		if got := counter(t, reg, "brooks_cutover_automatic_rollbacks_total"); got != 1 {
			t.Errorf("automatic rollbacks counter %g", got)
		}
		everyProxy("legacy", r.ChangedAt)

		// Hold-down: an operator forces it live again with the fault still
		// there; the controller does not move it back within the hold-down.
		r, _, err = ctl.Advance(ctx, cutover.Request{Customer: goLive, Actor: "test", Reason: "force for hold-down", Force: true})
		if err != nil || r.State != cutover.Live {
			t.Fatalf("forced advance: %+v %v", r, err)
		}
		if h, _ := store.History(ctx, goLive); len(h) != 4 || !h[3].Forced || len(cutover.Failing(h[3].Evidence)) == 0 {
			t.Errorf("forced entry %+v: want forced with the failing gates recorded", h[len(h)-1])
		}
		deadline = time.Now().Add(20 * time.Second)
		for counter(t, reg, "brooks_cutover_rollbacks_held_down_total") == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no held-down rollback in 20 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if r, _ := store.Get(ctx, goLive); r.State != cutover.Live {
			t.Errorf("moved again within the hold-down: %s", r.State)
		}
	})

	t.Run("two proxy processes apply a state write within 2 s", func(t *testing.T) {
		tokensFile := filepath.Join(t.TempDir(), "tokens.yaml")
		if err := auth.Append(tokensFile, readEntry); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(t.TempDir(), "brooks")
		build := exec.Command("go", "build", "-o", bin, "./cmd/brooks")
		build.Dir = testenv.RepoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		var urls []string
		for i := range 2 {
			logPath := filepath.Join(t.TempDir(), fmt.Sprintf("proxy%d.log", i))
			logf, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "proxy", "--api-tokens-file", tokensFile, "--legacy-url", st.legacyURL, "--nextgen-url", st.nextgenURL,
				"--compare=false", "--states", "cassandra", "--keyspace", ks, "--http-addr", "127.0.0.1:0")
			cmd.Dir, cmd.Stdout, cmd.Stderr = testenv.RepoRoot(t), logf, logf
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Signal(os.Interrupt)
				cmd.Wait()
				logf.Close()
				if t.Failed() {
					b, _ := os.ReadFile(logPath)
					t.Logf("proxy %d log:\n%s", i, b)
				}
			})
			urls = append(urls, "http://"+logAddr(t, logPath))
		}
		byProcesses := func(want string, since time.Time) time.Duration {
			var slowest time.Duration
			for _, u := range urls {
				for servedBy(u) != want {
					if time.Since(since) > 5*time.Second {
						t.Fatalf("proxy process %s still not served by %s %s after the write", u, want, time.Since(since))
					}
					time.Sleep(10 * time.Millisecond)
				}
				slowest = max(slowest, time.Since(since))
			}
			return slowest
		}
		cur, _ := store.Get(ctx, goLive)
		if cur.State != cutover.Live {
			t.Fatalf("%s is %s, want live", goLive, cur.State)
		}
		byProcesses("nextgen", time.Now())
		for _, move := range []struct {
			action   cutover.Action
			servedBy string
		}{{cutover.Rollback, "legacy"}, {cutover.Advance, "nextgen"}, {cutover.Rollback, "legacy"}} {
			var r cutover.Record
			var err error
			req := cutover.Request{Customer: goLive, Actor: "test", Reason: "two processes", Force: true}
			if move.action == cutover.Rollback {
				req.Force = false
				r, err = ctl.Rollback(ctx, req)
			} else {
				r, _, err = ctl.Advance(ctx, req)
			}
			if err != nil {
				t.Fatal(err)
			}
			d := byProcesses(move.servedBy, r.ChangedAt)
			t.Logf("FIGURE state write (%s → %s) → both proxy processes serving by it (poll 500 ms): %s", r.State, move.servedBy, d)
			if d > 2*time.Second {
				t.Errorf("applied after %s, want within 2 s", d)
			}
		}
	})

	t.Run("admin API", func(t *testing.T) {
		if s, _ := call(t, "GET", api.URL+cutover.PathCustomers, "", ""); s != http.StatusUnauthorized {
			t.Errorf("no token: %d", s)
		}
		if s, _ := call(t, "GET", api.URL+cutover.PathCustomers, read, ""); s != http.StatusForbidden {
			t.Errorf("read token: %d", s)
		}
		s, body := call(t, "GET", api.URL+cutover.PathCustomers, admin, "")
		if s != 200 || !strings.Contains(body, stays) || !strings.Contains(body, `"legacy"`) {
			t.Errorf("list: %d %.300s", s, body)
		}
		s, body = call(t, "POST", api.URL+cutover.PathCustomers+"/"+stays+"/rollback", admin, `{"reason":"nothing before legacy"}`)
		if s != http.StatusConflict || !strings.Contains(body, "first state") {
			t.Errorf("rollback of legacy: %d %.300s", s, body)
		}
		s, body = call(t, "POST", api.URL+cutover.PathCustomers+"/"+stays+"/advance", admin, `{"reason":"r","from":"shadow"}`)
		if s != http.StatusConflict || !strings.Contains(body, `"current"`) {
			t.Errorf("advance from a wrong state: %d %.300s", s, body)
		}
		s, body = call(t, "GET", api.URL+cutover.PathCustomers+"/"+goLive+"/history", admin, "")
		if s != 200 || !strings.Contains(body, `"controller"`) {
			t.Errorf("history: %d %.300s", s, body)
		}
		s, body = call(t, "GET", api.URL+cutover.PathCustomers+"/"+stays+"/gates", admin, "")
		if s != 200 || !strings.Contains(body, "nextgen_data") {
			t.Errorf("gates: %d %.300s", s, body)
		}
		if s, _ := call(t, "GET", api.URL+cutover.PathCustomers+"/nobody.example/gates", admin, ""); s != http.StatusNotFound {
			t.Errorf("unknown customer: %d", s)
		}
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// logAddr finds the address a component logged it listens on.
func logAddr(t *testing.T, logPath string) string {
	t.Helper()
	re := regexp.MustCompile(`msg="component started".* addr=(\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("no http address in %s:\n%s", logPath, b)
	return ""
}

// apiMux serves the admin API as brooks cutover run does: on a component
// runner that asks an admin token of every route.
func apiMux(tokens *auth.Tokens, c *cutover.Controller) http.Handler {
	r := component.New(component.Options{Name: "cutover", Auth: tokens})
	for pattern, h := range cutover.Handlers(c) {
		r.Handle(pattern, h)
	}
	return r.Handler()
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(resp.Body)
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				s += m.GetCounter().GetValue()
			}
		}
	}
	return s
}
