package cutover

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/shadow/evidence"
)

// summaryOf and auditDays are the gates' inputs as values: the gate logic
// is pure; the Cassandra readers are exercised in e2e_test.go.
type summaryOf struct {
	s   *evidence.Summary
	err error
}

func (s summaryOf) Summary(context.Context, string, time.Time, time.Time) (*evidence.Summary, error) {
	return s.s, s.err
}

type auditDays map[string]bool

func (a auditDays) Days(context.Context, string, time.Time, time.Time) (map[string]bool, error) {
	return a, nil
}

func gate(gs []Gate, name string) Gate {
	for _, g := range gs {
		if g.Name == name {
			return g
		}
	}
	return Gate{Name: "missing " + name}
}

func TestShadowToLiveGates(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	o := DefaultGateOptions()
	o.AuditDays, o.MinSettled = 2, 100
	good := &evidence.Summary{Settled: 200, Matching: 200, MatchRate: 1, Coverage: 1, CoveredShapes: 22, MatrixShapes: 22}
	clean := auditDays{"2026-12-03": true, "2026-12-02": true}
	tests := []struct {
		name     string
		sum      summaryOf
		audit    AuditVerdicts
		fresh    Freshness
		failing  []string
		inDetail string
	}{
		{"all pass", summaryOf{s: good}, clean, fixedFresh(2 * time.Second), nil, ""},
		{"open mismatch", summaryOf{s: &evidence.Summary{Settled: 200, Matching: 199, MatchRate: 0.995, Coverage: 1, MatrixShapes: 22, OpenCount: 1}},
			clean, fixedFresh(time.Second), []string{"match_rate", "open_mismatches"}, ""},
		{"too few, low coverage", summaryOf{s: &evidence.Summary{Settled: 10, Matching: 10, MatchRate: 1, Coverage: 0.5, MatrixShapes: 22}},
			clean, fixedFresh(time.Second), []string{"settled_comparisons", "coverage"}, ""},
		{"no settled comparison", summaryOf{s: &evidence.Summary{MatchRate: 1, MatrixShapes: 22}}, clean, fixedFresh(time.Second),
			[]string{"match_rate", "settled_comparisons", "coverage"}, "no settled comparison"},
		{"evidence unreadable", summaryOf{err: errors.New("cassandra down")}, clean, fixedFresh(time.Second),
			[]string{"match_rate", "settled_comparisons", "coverage", "open_mismatches"}, "cassandra down"},
		{"audit missing a day", summaryOf{s: good}, auditDays{"2026-12-03": true}, fixedFresh(time.Second), []string{"audit_clean_days"}, "no audit evidence for [2026-12-02]"},
		{"audit not clean", summaryOf{s: good}, auditDays{"2026-12-03": true, "2026-12-02": false}, fixedFresh(time.Second), []string{"audit_clean_days"}, "not clean"},
		{"no audit source", summaryOf{s: good}, nil, fixedFresh(time.Second), []string{"audit_clean_days"}, "no audit evidence"},
		{"no freshness source", summaryOf{s: good}, clean, nil, []string{"nextgen_freshness_p99"}, "no freshness evidence"},
		{"stale nextgen", summaryOf{s: good}, clean, fixedFresh(5 * time.Minute), []string{"nextgen_freshness_p99"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Gates{Options: o, Evidence: tt.sum, Audit: tt.audit, Freshness: tt.fresh, Now: func() time.Time { return now }}
			gs := g.Evaluate(context.Background(), Record{Customer: "a", State: Shadow}, Live)
			if len(gs) != 6 {
				t.Fatalf("%d gates: %v", len(gs), gs)
			}
			var names []string
			for _, f := range Failing(gs) {
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.failing, ",") {
				t.Errorf("failing %v, want %v (%v)", names, tt.failing, gs)
			}
			if tt.inDetail != "" && !strings.Contains(gate(gs, tt.failing[len(tt.failing)-1]).Detail+gate(gs, tt.failing[0]).Detail, tt.inDetail) {
				t.Errorf("details %v do not say %q", gs, tt.inDetail)
			}
		})
	}
}

type fixedFresh time.Duration

func (f fixedFresh) FreshnessP99(context.Context) (time.Duration, error) {
	return time.Duration(f), nil
}

func TestOtherTransitionsGates(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	g := &Gates{Options: DefaultGateOptions(), Now: func() time.Time { return now }}
	if gs := g.Evaluate(context.Background(), Record{State: Live}, Shadow); gs != nil {
		t.Errorf("a rollback has gates: %v", gs)
	}
	if gs := g.Evaluate(context.Background(), Record{State: Legacy}, Shadow); len(gs) != 1 || gs[0].Pass || !strings.Contains(gs[0].Detail, "no nextgen") {
		t.Errorf("legacy → shadow without a nextgen source: %v", gs)
	}
	for _, tt := range []struct {
		since time.Duration
		pass  bool
	}{{6 * 24 * time.Hour, false}, {8 * 24 * time.Hour, true}} {
		gs := g.Evaluate(context.Background(), Record{State: Live, ChangedAt: now.Add(-tt.since)}, Complete)
		if lf := gate(gs, "live_without_rollback"); lf.Pass != tt.pass {
			t.Errorf("live for %s: %v", tt.since, lf)
		}
	}
}

func TestSettledDays(t *testing.T) {
	for _, tt := range []struct {
		now    string
		settle time.Duration
		want   string
	}{
		{"2026-12-04T12:00:00Z", 2 * time.Hour, "2026-12-03,2026-12-02"},
		{"2026-12-04T01:00:00Z", 2 * time.Hour, "2026-12-02,2026-12-01"}, // the 3rd ended less than 2h ago
	} {
		now, _ := time.Parse(time.RFC3339, tt.now)
		var got []string
		for _, d := range settledDays(now, tt.settle, 2) {
			got = append(got, d.Format("2006-01-02"))
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%s: %v, want %s", tt.now, got, tt.want)
		}
	}
}

func TestFreshnessP99(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "brooks", Subsystem: "nextgen", Name: "freshness_seconds",
		Buckets: []float64{0.5, 1, 2, 5, 10}})
	reg.MustRegister(h)
	g := GathererFreshness{Gatherer: reg}
	if _, err := g.FreshnessP99(context.Background()); err == nil || !strings.Contains(err.Error(), "no observations") {
		t.Errorf("empty histogram: %v", err)
	}
	for range 990 {
		h.Observe(0.8)
	}
	for range 10 {
		h.Observe(4)
	}
	if p, err := g.FreshnessP99(context.Background()); err != nil || p != time.Second {
		t.Errorf("p99 = %s, %v; want 1s", p, err)
	}
	for range 100 {
		h.Observe(60)
	}
	if _, err := g.FreshnessP99(context.Background()); err == nil || !strings.Contains(err.Error(), "largest bucket") {
		t.Errorf("p99 beyond the buckets: %v", err)
	}
	if _, err := (GathererFreshness{Gatherer: prometheus.NewRegistry()}).FreshnessP99(context.Background()); err == nil {
		t.Error("no metric: no error")
	}
}

func TestBackoff(t *testing.T) {
	for f := 1; f < 20; f++ {
		d := backoff(f, 10*time.Second)
		ceil := min(200*time.Millisecond<<min(f-1, 10), 10*time.Second)
		if d < ceil/2 || d >= ceil/2+ceil {
			t.Errorf("failure %d: %s outside [%s, %s)", f, d, ceil/2, ceil/2+ceil)
		}
	}
}
