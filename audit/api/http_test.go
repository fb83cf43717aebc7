package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/api"
	"github.com/brooksdata/brooks/audit/certify"
	"github.com/brooksdata/brooks/audit/internal/audittest"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// TestHandlers archives an hour of a customer's traffic on the real stack
// (Kafka, the archiver into a temp folder, the ledger in Cassandra), stores
// certificates in Cassandra, and asks both routes through a component
// runner with tokens, as brooks audit serve mounts them.
func TestHandlers(t *testing.T) {
	s := audittest.Start(t, audittest.Options{})
	const c, n = "initech.example", 400
	hour := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	urls := []string{"https://blog.initech.example/posts/a", "https://initech.example/pricing"}
	s.Produce(t, audittest.PastEvents(5, c, urls, hour, time.Hour, n))
	s.WaitArchived(t, n, hour)

	ctx := testenv.Context(t, 3*time.Minute)
	session, err := cass.Connect(s.Cfg.CassandraHosts, s.Keyspace)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	if err := certify.Migrate(ctx, session, s.Keyspace); err != nil {
		t.Fatal(err)
	}
	store := certify.NewStore(session, s.Keyspace)
	day := hour.Truncate(24 * time.Hour)
	certs := []*certify.Certificate{
		cert(t, c, day.Add(-48*time.Hour), "clean", true), cert(t, c, day.Add(-24*time.Hour), "fault", false), cert(t, "acme.example", day.Add(-72*time.Hour), "clean", true),
	}
	for _, ce := range certs {
		if err := store.Save(ctx, ce); err != nil {
			t.Fatal(err)
		}
	}

	o := api.DefaultOptions()
	o.Ledger, o.Certificates, o.Customers, o.ArchiveRoot = s.Ledger, store, s.Customers, s.ArchDir
	routes, err := api.Handlers(o)
	if err != nil {
		t.Fatal(err)
	}
	admin, adminE, err := auth.NewToken("", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cust, custE, err := auth.NewToken(c, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.New(adminE, custE)
	if err != nil {
		t.Fatal(err)
	}
	r := component.New(component.Options{Name: "audit", Auth: tokens})
	for pattern, h := range routes {
		r.Handle(pattern, h)
	}
	ts := httptest.NewServer(r.Handler())
	defer ts.Close()

	from, to := hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339)
	reportURL := ts.URL + api.PathLedgerReport + "?customer=" + c + "&from=" + from + "&to=" + to

	t.Run("tokens", func(t *testing.T) {
		for _, u := range []string{reportURL, ts.URL + api.PathAuditRuns} {
			for _, tc := range []struct {
				token string
				want  int
			}{{"", http.StatusUnauthorized}, {"brk_nope", http.StatusUnauthorized}, {cust, http.StatusForbidden}, {admin, http.StatusOK}} {
				if code, body := get(t, u, tc.token); code != tc.want {
					t.Errorf("%s with token %.8q: %d, want %d: %s", u, tc.token, code, tc.want, body)
				}
			}
		}
	})

	t.Run("ledger report", func(t *testing.T) {
		code, body := get(t, reportURL, admin)
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		var rep ledger.Report
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Customer != c || len(rep.Hours) != 1 || !rep.Hours[0].Hour.Equal(hour) {
			t.Fatalf("report: %s", body)
		}
		tl := rep.Hours[0].Tallies
		if tl[ledger.StageTruth].Count != n || tl[ledger.StageArchive].Count != n || tl[ledger.StageTruth].Hash != tl[ledger.StageArchive].Hash {
			t.Errorf("hour %s: truth %+v, archive %+v, want %d events each with one hash", hour, tl[ledger.StageTruth], tl[ledger.StageArchive], n)
		}
		if tl[ledger.StageTruthLegacy].Count == 0 || tl[ledger.StageTruthLegacy].Count >= n {
			t.Errorf("truth_legacy %+v: want the post page views, some of %d", tl[ledger.StageTruthLegacy], n)
		}
		if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "recomputed from the archive "+s.ArchDir) {
			t.Errorf("notes %q: want the truth's source first", rep.Notes)
		}
		for _, bad := range []struct{ query, want string }{
			{"customer=nope.example", `"unknown customer \"nope.example\""`},
			{"", "customer is required"},
			{"customer=" + c + "&from=yesterday", "from:"},
			{"customer=" + c + "&to=2026-13-01T00:00:00Z", "to:"},
			{"customer=" + c + "&from=" + to + "&to=" + from, "the period is empty"},
		} {
			code, body := get(t, ts.URL+api.PathLedgerReport+"?"+bad.query, admin)
			if code != http.StatusBadRequest || !strings.Contains(body, bad.want) {
				t.Errorf("?%s: %d %s, want 400 with %q", bad.query, code, body, bad.want)
			}
			if strings.Contains(bad.query, "nope") && strings.Contains(body, "acme.example") {
				t.Errorf("unknown customer: the answer names other customers: %s", body)
			}
		}
	})

	t.Run("audit runs", func(t *testing.T) {
		// A certificate altered in Cassandra is listed, not valid.
		if err := session.Query(`UPDATE `+s.Keyspace+`.`+certify.Table+` SET body = ? WHERE customer = ? AND day = ?`,
			strings.Replace(mustJSON(t, certs[0]), `"events":10`, `"events":11`, 1), c, certs[0].Day).WithContext(ctx).Exec(); err != nil {
			t.Fatal(err)
		}
		var out struct {
			Runs []certify.Summary `json:"runs"`
		}
		code, body := get(t, ts.URL+api.PathAuditRuns, admin)
		if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("%d %s", code, body)
		}
		var days []string
		for _, r := range out.Runs {
			days = append(days, r.Customer+" "+r.Day)
		}
		want := []string{c + " " + certs[1].Day, c + " " + certs[0].Day, "acme.example " + certs[2].Day}
		if strings.Join(days, ",") != strings.Join(want, ",") {
			t.Fatalf("runs %v, want newest first %v", days, want)
		}
		if r := out.Runs[0]; r.Verdict != "fault" || r.Clean || r.Digest != certs[1].Digest || !r.Valid || r.Counts["both_right"] != 7 || r.Events != 10 {
			t.Errorf("newest run %+v, want certificate %+v", r, certs[1])
		}
		if r := out.Runs[1]; r.Valid || r.Events != 11 {
			t.Errorf("altered certificate listed as %+v, want valid false", r)
		}
		code, body = get(t, ts.URL+api.PathAuditRuns+"?customer=acme.example", admin)
		if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || len(out.Runs) != 1 || out.Runs[0].Customer != "acme.example" {
			t.Errorf("?customer=acme.example: %d %s", code, body)
		}
		if code, body := get(t, ts.URL+api.PathAuditRuns+"?customer=nope.example", admin); code != http.StatusBadRequest || !strings.Contains(body, "nope.example") {
			t.Errorf("unknown customer: %d %s", code, body)
		}
	})
}

func cert(t *testing.T, customer string, day time.Time, verdict string, clean bool) *certify.Certificate {
	t.Helper()
	c := &certify.Certificate{Schema: certify.Schema, Customer: customer, Day: day.Format(certify.DayLayout), IssuedAt: day.Add(25 * time.Hour),
		CodeVersion: "test", Verdict: verdict, Clean: clean,
		Replay: certify.ReplaySummary{Counts: map[string]int{"both_right": 7}, Compared: 7, Events: 10}}
	var err error
	if c.Digest, err = c.Sum(); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func get(t *testing.T, url, token string) (int, string) {
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
