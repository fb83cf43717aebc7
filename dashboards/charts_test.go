package dashboards

import (
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/query"
)

func TestBucketValues(t *testing.T) {
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	bs := buckets(from, from.Add(20*time.Minute), 5*time.Minute)
	a := &query.Answer{Series: []query.Series{
		{Key: map[string]string{"url": "a"}, Points: []query.Point{{T: from, Values: map[string]float64{"pageviews": 2}}, {T: from.Add(10 * time.Minute), Values: map[string]float64{"pageviews": 3}}}},
		{Key: map[string]string{"url": "b"}, Points: []query.Point{{T: from, Values: map[string]float64{"pageviews": 1}}, {T: from.Add(time.Hour), Values: map[string]float64{"pageviews": 9}}}},
	}}
	tests := []struct {
		name  string
		shift time.Duration
		ans   *query.Answer
		want  []float64
	}{
		{"sums series, absent buckets are 0, outside points dropped", 0, a, []float64{3, 0, 3, 0}},
		{"a week-earlier answer shifted onto this week's buckets", 50 * time.Minute, a, []float64{0, 0, 0, 0}},
		{"shift by one bucket", 5 * time.Minute, a, []float64{0, 3, 0, 3}},
		{"no answer", 0, nil, []float64{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bucketValues(tt.ans, "pageviews", bs, tt.shift)
			if len(got) != len(tt.want) {
				t.Fatalf("%d values, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if *got[i] != tt.want[i] {
					t.Errorf("bucket %d = %v, want %v", i, *got[i], tt.want[i])
				}
			}
		})
	}
	if n := pointCount(a); n != 4 {
		t.Errorf("pointCount = %d, want 4", n)
	}
	if h := hourly(bucketValues(a, "pageviews", buckets(from, from.Add(2*time.Hour), 5*time.Minute), 0)); len(h) != 2 || *h[0] != 6 || *h[1] != 9 {
		t.Errorf("hourly = %v %v", *h[0], *h[1])
	}
	ny, _ := time.LoadLocation("America/New_York")
	if l := labels(bs[:1], ny, "15:04"); l[0] != "05:00" {
		t.Errorf("label in New York = %s, want 05:00", l[0])
	}
}

func TestParseRange(t *testing.T) {
	today := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		from, to         string
		wantFrom, wantTo time.Time
		bad              bool
	}{
		{"", "", day("2026-11-05"), day("2026-12-05"), false},
		{"2026-12-01", "2026-12-03", day("2026-12-01"), day("2026-12-04"), false},
		{"2024-12-05", "2026-12-04", day("2024-12-05"), day("2026-12-05"), false}, // 730 days
		{"2024-12-01", "2026-12-04", time.Time{}, time.Time{}, true},              // more than two years
		{"2026-12-03", "2026-12-01", time.Time{}, time.Time{}, true},
		{"x", "", time.Time{}, time.Time{}, true},
		{"", "2026-13-01", time.Time{}, time.Time{}, true},
		{"", "2026-12-09", time.Time{}, time.Time{}, true}, // future
	}
	for _, tt := range tests {
		f, to, msg := parseRange(tt.from, tt.to, today)
		if (msg != "") != tt.bad {
			t.Errorf("parseRange(%q, %q): message %q, want bad=%v", tt.from, tt.to, msg, tt.bad)
			continue
		}
		if !tt.bad && (!f.Equal(tt.wantFrom) || !to.Equal(tt.wantTo)) {
			t.Errorf("parseRange(%q, %q) = %v, %v; want %v, %v", tt.from, tt.to, f, to, tt.wantFrom, tt.wantTo)
		}
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		bad  bool
	}{
		{"", map[string]string{}, false},
		{"url=https://a.example/p?x=1", map[string]string{"url": "https://a.example/p?x=1"}, false},
		{"device=mobile|referrer_category=search", map[string]string{"device": "mobile", "referrer_category": "search"}, false},
		{"nodim", nil, true},
	}
	for _, tt := range tests {
		got, err := parseKey(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("parseKey(%q) error %v, want bad=%v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && query.KeyString(got) != query.KeyString(tt.want) {
			t.Errorf("parseKey(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHeatMap(t *testing.T) {
	h0 := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	hours := []time.Time{h0, h0.Add(time.Hour), h0.Add(2 * time.Hour)}
	rep := ledger.Report{Customer: "a.example", Stages: []string{"collector", "legacy"}, Hours: []ledger.HourReport{
		{Hour: h0, Status: "settled"},
		{Hour: h0.Add(time.Hour), Status: "settled", Findings: []ledger.Finding{{Stage: "legacy", Diff: -2, Message: "2 lost"}}},
		{Hour: h0.Add(2 * time.Hour), Status: "open", Findings: []ledger.Finding{{Stage: "collector", Diff: 1, Message: "1 doubled"}}},
	}}
	rows := heatMap([]ledger.Report{rep}, hours)
	want := [][]string{{"ok", "ok", "doubled"}, {"ok", "lost", "open"}}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for i, r := range rows {
		for j, c := range r.Cells {
			if c.Class != want[i][j] {
				t.Errorf("%s hour %d: %s, want %s", r.Stage, j, c.Class, want[i][j])
			}
		}
	}
	if rows := heatMap([]ledger.Report{rep}, []time.Time{h0.Add(-time.Hour)}); rows[0].Cells[0].Class != "none" {
		t.Errorf("an hour without a record: %s, want none", rows[0].Cells[0].Class)
	}
}

func TestAuditRunString(t *testing.T) {
	d := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		run  auditRun
		want string
	}{
		{auditRun{Day: "2026-12-03", Verdict: "clean", Clean: true, Digest: d, Valid: true}, "2026-12-03 clean · sha256 0123456789ab"},
		{auditRun{Day: "2026-12-03", Verdict: "clean", Clean: false, Digest: d, Valid: true}, "2026-12-03 clean (ledger disagrees) · sha256 0123456789ab"},
		{auditRun{Day: "2026-12-02", Verdict: "fault", Digest: d, Valid: false}, "2026-12-02 fault — DIGEST MISMATCH"},
		{auditRun{Day: "2026-12-02", Verdict: "inconclusive", Digest: "abc", Valid: true}, "2026-12-02 inconclusive"},
	} {
		if got := tc.run.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.run, got, tc.want)
		}
	}
}
