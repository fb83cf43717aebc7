package certify_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/certify"
	"github.com/brooksdata/brooks/audit/internal/audittest"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// TestRunCertifiesSettledDays archives a day of a customer's traffic (two
// hours of yesterday), lets both systems take it in, and runs the
// certifier over the last two days: yesterday gets a clean certificate
// with a digest that verifies, the day before (no traffic) an
// inconclusive one, a second run keeps the clean one and certifies the
// other again, and a certificate altered in Cassandra fails its digest.
func TestRunCertifiesSettledDays(t *testing.T) {
	s := audittest.Start(t, audittest.Options{})
	c := "initech.example"
	yesterday := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	urls := []string{"https://blog.initech.example/posts/a", "https://blog.initech.example/posts/b", "https://initech.example/pricing"}
	s.Produce(t, audittest.PastEvents(3, c, urls, yesterday.Add(10*time.Hour), 2*time.Hour, 500))
	s.WaitArchived(t, 500, yesterday)
	ro := replay.DefaultOptions()
	ro.Sink, ro.Customers, ro.Legacy, ro.Nextgen, ro.Raw = s.Sink, s.Customers, s.Legacy, s.Nextgen, s.Raw
	audittest.Eventually(t, 2*time.Minute, func() string {
		rep, err := replay.Run(testenv.Context(t, time.Minute), ro, c, yesterday, yesterday.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			return fmt.Sprintf("replay not clean yet: %v %v", rep.Counts, rep.Reasons)
		}
		return ""
	})

	ctx := testenv.Context(t, 5*time.Minute)
	ks, err := cass.Connect(s.Cfg.CassandraHosts, s.Keyspace)
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if err := certify.Migrate(ctx, ks, s.Keyspace); err != nil {
		t.Fatal(err)
	}
	store := certify.NewStore(ks, s.Keyspace)
	o := certify.RunOptions{Options: certify.Options{Replay: ro, Ledger: s.Ledger, Version: "test"}, Store: store,
		Customers: []string{c}, Since: 48 * time.Hour, Settle: time.Hour}
	issued, err := certify.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	byDay := map[string]certify.Issued{}
	for _, is := range issued {
		byDay[is.Day] = is
	}
	y := yesterday.Format(certify.DayLayout)
	before := yesterday.Add(-24 * time.Hour).Format(certify.DayLayout)
	if is := byDay[y]; is.Action != "issued" || !is.Clean || is.Verdict != replay.VerdictClean {
		if cert, err := store.Get(ctx, c, yesterday); err == nil {
			for _, h := range cert.Ledger.Hours {
				t.Logf("ledger %s %s %v %v", h.Hour, h.Status, h.Tallies, h.Findings)
			}
		}
		t.Fatalf("yesterday: %+v (all: %+v)", is, issued)
	}
	if is := byDay[before]; is.Action != "issued" || is.Clean || is.Verdict != replay.VerdictInconclusive {
		t.Fatalf("the day before, without traffic: %+v", is)
	}

	cert, err := store.Get(ctx, c, yesterday)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Digest != byDay[y].Digest || len(cert.Archive) == 0 || cert.Replay.Events != 500 || !cert.Ledger.OK || cert.Ledger.Settled == 0 ||
		cert.CodeVersion != "test" || len(cert.Ledger.Stages) < 2 {
		t.Fatalf("certificate: %+v", cert)
	}
	var text strings.Builder
	if err := cert.Text(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "CLEAN") || !strings.Contains(text.String(), cert.Digest) {
		t.Errorf("text:\n%s", text.String())
	}

	again, err := certify.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range again {
		if want := map[bool]string{true: "skipped", false: "issued"}[is.Day == y]; is.Action != want {
			t.Errorf("second run: %+v, want %s", is, want)
		}
	}

	// Altered content no longer matches its digest.
	if err := ks.Query(`UPDATE `+s.Keyspace+`.audit_certificates SET body = ? WHERE customer = ? AND day = ?`,
		strings.Replace(mustJSON(t, cert), `"clean": true`, `"clean": false`, 1), c, y).Exec(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, c, yesterday); err == nil || errors.Is(err, certify.ErrNotFound) || !strings.Contains(err.Error(), "digest") {
		t.Errorf("altered certificate: %v, want a digest mismatch", err)
	}
	t.Logf("yesterday's certificate: digest %s, %d parts, %d events, ledger stages %v", cert.Digest, len(cert.Archive), cert.Replay.Events, cert.Ledger.Stages)
}

func mustJSON(t *testing.T, c *certify.Certificate) string {
	var b strings.Builder
	if err := c.JSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
