package faults_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/audit/faults"
	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/cutover"
	"github.com/brooksdata/brooks/shadow/evidence"
)

// startComparer runs the shadow comparer over both systems' (stale-
// injectable) clients, every customer in shadow, with the repository's
// rules file, its settle clock two days ahead (every bucket counts as
// settled) and its matrix paced at 20 ms, recording into a fresh
// evidence keyspace.
func (h *harness) startComparer(t *testing.T) {
	t.Helper()
	ks := testenv.Name("faultsev")
	ctx := testenv.Context(t, 2*time.Minute)
	hosts := h.s.Cfg.CassandraHosts
	if err := cass.EnsureKeyspace(ctx, hosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	sess, err := cass.Connect(hosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sess.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
		sess.Close()
	})
	if err := evidence.Migrate(ctx, sess, ks); err != nil {
		t.Fatal(err)
	}
	h.evidence = evidence.NewStore(sess, ks, evidence.Options{TTL: time.Hour})
	rules, err := diff.LoadConfig(filepath.Join(testenv.RepoRoot(t), "deploy", "rules", "expected-differences.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	states := cutover.Static{Customers: map[string]cutover.State{}}
	for _, c := range h.s.Customers.IDs() {
		states.Customers[c] = cutover.Shadow
	}
	o := compare.DefaultOptions()
	o.Legacy, o.Nextgen, o.States, o.Customers, o.Store = h.legacy, h.nextgen, states, h.s.Customers.IDs(), h.evidence
	o.Rules, o.Tolerances, o.Registerer = rules.Rules, rules.Tolerances, prometheus.NewRegistry()
	o.Pace, o.RecheckPoll = 20*time.Millisecond, 50*time.Millisecond
	o.SettleNow = func() time.Time { return time.Now().Add(49 * time.Hour) }
	if h.comparer, err = compare.New(o); err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "comparer", h.comparer.Run)
}

// openMismatches lists every customer's open mismatches.
func (h *harness) openMismatches(t *testing.T) map[string][]evidence.Mismatch {
	t.Helper()
	out := map[string][]evidence.Mismatch{}
	for _, c := range h.s.Customers.IDs() {
		ms, err := h.evidence.Mismatches(testenv.Context(t, time.Minute), c, false)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = ms
	}
	return out
}

// comparerFinding reads the comparer's open mismatches for fault f: in
// scope are f's customer's cells in f's buckets (any bucket for a stale
// answer; a total over a window holding the fault), everything else is
// listed in others. The comparer compares the two systems with each
// other: it says where they differ, not which one is wrong.
func comparerFinding(f faults.Fault, open map[string][]evidence.Mismatch) finding {
	fd := finding{verdicts: map[string]int{}}
	metrics, buckets := map[string]bool{}, map[string]bool{}
	from5, to5 := f.From, f.To.Add(5*time.Minute)
	day := f.From.Truncate(24 * time.Hour)
	for c, ms := range open {
		for _, m := range ms {
			b := m.Cell.Bucket.UTC()
			var in bool
			switch {
			case f.Kind == faults.StaleAnswer || strings.Contains(m.Shape, "total"):
				in = true
			case strings.Contains(m.Shape, "1d"):
				in = b.Equal(day) || (f.Kind != faults.DayMissing && b.Equal(to5.Add(-time.Nanosecond).Truncate(24*time.Hour)))
			default:
				in = f.Kind != faults.DayMissing && !b.Before(from5) && b.Before(to5)
			}
			if c != f.Customer || !in {
				fd.others = append(fd.others, fmt.Sprintf("%s %s %s %v %s legacy %g nextgen %g", c, m.Shape, b.Format(time.RFC3339), m.Cell.Series, m.Cell.Metric, m.Cell.Legacy, m.Cell.Nextgen))
				continue
			}
			fd.verdicts["mismatch"]++
			metrics[m.Cell.Metric] = true
			switch {
			case strings.Contains(m.Shape, "total"):
				buckets["total from "+b.Format("01-02 15:04")] = true
			case strings.Contains(m.Shape, "5m"):
				buckets["5m "+b.Format("15:04")] = true
			default:
				buckets["1d "+b.Format("2006-01-02")] = true
			}
		}
	}
	for m := range metrics {
		fd.metrics = append(fd.metrics, m)
	}
	for b := range buckets {
		fd.buckets = append(fd.buckets, b)
	}
	sort.Strings(fd.metrics)
	sort.Strings(fd.buckets)
	return fd
}

// waitNoMismatch waits until the comparer has compared the whole matrix
// of every customer and holds no open mismatch, and fails the test if it
// does not within d.
func (h *harness) waitNoMismatch(t *testing.T, d time.Duration) {
	t.Helper()
	if msg := h.comparerSilent(t, d); msg != "" {
		t.Fatalf("comparer after %s: %s", d, msg)
	}
}

// comparerSilent is waitNoMismatch returning what is still open ("" when
// nothing is).
func (h *harness) comparerSilent(t *testing.T, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := ""
		for c, ms := range h.openMismatches(t) {
			if cov := h.comparer.Coverage(c); cov < 1 {
				msg = fmt.Sprintf("%s coverage %.2f (missing %v)", c, cov, h.comparer.Missing(c))
			}
			if len(ms) > 0 {
				m := ms[0]
				msg = fmt.Sprintf("%s: %d open mismatches, e.g. %s %s %v %s legacy %g nextgen %g", c, len(ms), m.Shape, m.Cell.Bucket.Format(time.RFC3339), m.Cell.Series, m.Cell.Metric, m.Cell.Legacy, m.Cell.Nextgen)
			}
		}
		if msg == "" || time.Now().After(deadline) {
			return msg
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func runUntilCleanup(t *testing.T, name string, run func(context.Context) error) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", name, err)
		}
	})
}
