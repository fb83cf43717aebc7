package replay

import (
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/rollup"
)

func TestCombine(t *testing.T) {
	tests := []struct{ legacy, nextgen, want string }{
		{Right, Right, BothRight},
		{OutsideView, Right, BothRight},
		{Wrong, Right, LegacyWrong},
		{Wrong, NotSettled, LegacyWrong},
		{Right, Wrong, NextgenWrong},
		{OutsideView, Wrong, NextgenWrong},
		{Wrong, Wrong, BothWrong},
		{NotSettled, Right, Unsettled},
		{Right, NotSettled, Unsettled},
		{OutsideView, OutsideView, Unsettled},
	}
	for _, tt := range tests {
		if got := combine(tt.legacy, tt.nextgen); got != tt.want {
			t.Errorf("combine(%q, %q) = %q, want %q", tt.legacy, tt.nextgen, got, tt.want)
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct{ class, reason, want string }{
		{"", "", OutsideView},
		{"matched", "", Right},
		{"within_tolerance", "", Right},
		{"expected", "", Right},
		{"missing_left", "", Wrong},
		{"missing_right", "", Wrong},
		{"value_drift", "", Wrong},
		{"value_drift", "bucket not settled", NotSettled},
		{"unsettled", "", NotSettled},
	}
	for _, tt := range tests {
		if got := status(tt.class, tt.reason); got != tt.want {
			t.Errorf("status(%q, %q) = %q, want %q", tt.class, tt.reason, got, tt.want)
		}
	}
}

func TestAlignScope(t *testing.T) {
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct{ from, to, wantFrom, wantTo string }{
		{"2026-11-25T10:03:00Z", "2026-11-25T10:11:00Z", "2026-11-25T10:00:00Z", "2026-11-25T10:15:00Z"},
		{"2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z", "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"},
	}
	for _, tt := range tests {
		f, to := AlignScope(at(tt.from), at(tt.to))
		if !f.Equal(at(tt.wantFrom)) || !to.Equal(at(tt.wantTo)) {
			t.Errorf("AlignScope(%s, %s) = %s, %s", tt.from, tt.to, f, to)
		}
	}
}

// TestQuestions checks what each system is asked: 1d only over whole days
// inside the scope, legacy only what it answers, retention applied.
func TestQuestions(t *testing.T) {
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	count := func(qs []Question, system, interval string) int {
		n := 0
		for _, q := range qs {
			if q.System == system && q.Query.Interval == interval {
				n++
				if err := q.Query.Validate(); err != nil {
					t.Errorf("%s %s %v: %v", system, interval, q.Query.GroupBy, err)
				}
			}
		}
		return n
	}
	qs := Questions("acme.example", day.Add(10*time.Hour), day.Add(12*time.Hour), day.Add(13*time.Hour))
	if count(qs, "nextgen", "5m") != 7 || count(qs, "legacy", "5m") != 4 || count(qs, "nextgen", "1d") != 0 || count(qs, "legacy", "1d") != 0 {
		t.Errorf("part of a day: %+v", qs)
	}
	qs = Questions("acme.example", day, day.Add(48*time.Hour), day.Add(49*time.Hour))
	if count(qs, "nextgen", "1d") != 7 || count(qs, "legacy", "1d") != 4 {
		t.Errorf("two whole days: %+v", qs)
	}
	for _, q := range qs {
		if q.System == "legacy" && q.Query.Interval == "5m" && len(q.Query.Metrics) != 1 {
			t.Errorf("legacy asked %v at 5m", q.Query.Metrics)
		}
	}
	// Ten days ago: 5-minute buckets expired (8 days), daily ones kept.
	qs = Questions("acme.example", day, day.Add(24*time.Hour), day.Add(10*24*time.Hour))
	if count(qs, "nextgen", "5m") != 0 || count(qs, "legacy", "5m") != 0 || count(qs, "nextgen", "1d") != 7 {
		t.Errorf("past 5m retention: %+v", qs)
	}
}

// TestAnswerAndLegacyView aggregates a few events and checks the truth's
// answers and legacy's projection (posts only).
func TestAnswerAndLegacyView(t *testing.T) {
	cs, err := pixel.NewCustomers(&pixel.Customer{ID: "acme.example", PostPattern: `^https://acme\.example/post/`, HeartbeatSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	cust, _ := cs.Get("acme.example")
	t0 := time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC)
	r := rollup.New(cs, rollup.Options{})
	for i, e := range []pixel.Event{
		{EID: "1", Customer: "acme.example", Type: "pv", ReceivedAt: t0, URL: "https://acme.example/post/1", DUID: "a"},
		{EID: "2", Customer: "acme.example", Type: "pv", ReceivedAt: t0.Add(time.Minute), URL: "https://acme.example/post/1", DUID: "b"},
		{EID: "3", Customer: "acme.example", Type: "pv", ReceivedAt: t0.Add(6 * time.Minute), URL: "https://acme.example/about", DUID: "a"},
		{EID: "4", Customer: "acme.example", Type: "pp", ReceivedAt: t0, URL: "https://acme.example/post/1", DUID: "a"},
	} {
		if err := r.Add(0, int64(i), &e); err != nil {
			t.Fatal(err)
		}
	}
	q := query.Query{Customer: "acme.example", Metrics: []string{"pageviews", "visitors", "engaged_seconds"}, From: t0.Truncate(time.Hour), To: t0.Truncate(time.Hour).Add(time.Hour), Interval: "5m"}
	all := Answer(r, &q, nil)
	legacy := Answer(r, &q, LegacyView(cust))
	if len(all.Series) != 1 || len(all.Series[0].Points) != 2 {
		t.Fatalf("truth: %+v", all)
	}
	p := all.Series[0].Points[0].Values
	if p["pageviews"] != 2 || p["visitors"] != 2 || p["engaged_seconds"] != 10 {
		t.Errorf("10:00 bucket: %v", p)
	}
	if len(legacy.Series) != 1 || len(legacy.Series[0].Points) != 1 || legacy.Series[0].Points[0].Values["pageviews"] != 2 {
		t.Errorf("legacy's view (posts only): %+v", legacy)
	}
}
