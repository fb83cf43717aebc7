package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/diff"
)

func tallyOf(ids ...string) Tally {
	var t Tally
	for _, id := range ids {
		t.Add(id)
	}
	return t
}

func TestCompare(t *testing.T) {
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	h1 := h0.Add(time.Hour)
	h2 := h0.Add(2 * time.Hour)
	now := h2.Add(30 * time.Minute) // h0 and h1 settled (grace 10m), h2 open
	abc := tallyOf("a", "b", "c")
	tests := []struct {
		name  string
		hours Hours
		// want: per hour, status and the findings' messages.
		wantStages []string
		want       map[time.Time][]string
		ok         bool
	}{
		{
			name:       "all stages agree",
			hours:      Hours{h0: {StageCollector: abc, StageArchive: abc, StageRaw: abc}},
			wantStages: []string{StageCollector, StageArchive, StageRaw},
			want:       map[time.Time][]string{h0: {StatusOK}},
			ok:         true,
		},
		{
			name:       "archive lost events",
			hours:      Hours{h0: {StageCollector: abc, StageArchive: tallyOf("a")}},
			wantStages: []string{StageCollector, StageArchive},
			want:       map[time.Time][]string{h0: {StatusMismatch, "archive: 2 fewer than collector"}},
		},
		{
			// The tracker retried c; the collector and archive saw it
			// twice, as they should. Legacy counted it twice; the truth
			// (distinct ids from the archive) has it once.
			name: "legacy counted a retry twice",
			hours: Hours{h0: {StageCollector: tallyOf("a", "b", "c", "c"), StageArchive: tallyOf("a", "b", "c", "c"),
				StageTruthLegacy: abc, StageLegacy: tallyOf("a", "b", "c", "c")}},
			wantStages: []string{StageCollector, StageArchive, StageTruthLegacy, StageLegacy},
			want:       map[time.Time][]string{h0: {StatusMismatch, "legacy: 1 more than truth_legacy (counted twice: retried or re-read events)"}},
		},
		{
			name:       "legacy without a truth reference is shown, not compared",
			hours:      Hours{h0: {StageCollector: abc, StageLegacy: tallyOf("a")}},
			wantStages: []string{StageCollector, StageLegacy},
			want:       map[time.Time][]string{h0: {StatusOK}},
			ok:         true,
		},
		{
			name:       "nextgen raw store compared with the truth, not the records received",
			hours:      Hours{h0: {StageCollector: tallyOf("a", "b", "c", "c"), StageTruth: abc, StageRaw: abc}},
			wantStages: []string{StageCollector, StageTruth, StageRaw},
			want:       map[time.Time][]string{h0: {StatusOK}},
			ok:         true,
		},
		{
			name:       "same count, different events",
			hours:      Hours{h0: {StageCollector: abc, StageRaw: tallyOf("a", "b", "d")}},
			wantStages: []string{StageCollector, StageRaw},
			want:       map[time.Time][]string{h0: {StatusMismatch, "cassandra: same count as collector, different events"}},
		},
		{
			name: "a stage missing a whole hour",
			hours: Hours{
				h0: {StageCollector: abc, StageArchive: abc},
				h1: {StageCollector: abc},
			},
			wantStages: []string{StageCollector, StageArchive},
			want: map[time.Time][]string{
				h0: {StatusOK},
				h1: {StatusMismatch, "archive: no entries (collector has 3)"},
			},
		},
		{
			name:       "reference is the first stage with data",
			hours:      Hours{h0: {StageArchive: abc, StageRaw: abc}, h1: {StageCollector: abc, StageArchive: abc, StageRaw: abc}},
			wantStages: []string{StageCollector, StageArchive, StageRaw},
			want: map[time.Time][]string{
				h0: {StatusMismatch, "collector: no entries (archive has 3)"},
				h1: {StatusOK},
			},
		},
		{
			name:       "open hour is shown, never judged",
			hours:      Hours{h0: {StageCollector: abc, StageArchive: abc}, h2: {StageCollector: abc, StageArchive: tallyOf("a")}},
			wantStages: []string{StageCollector, StageArchive},
			want: map[time.Time][]string{
				h0: {StatusOK},
				h2: {StatusOpen, "archive: 2 behind collector, not closed yet"},
			},
			ok: true,
		},
		{
			name:       "unknown stages sort after the known ones",
			hours:      Hours{h0: {"zeta": abc, StageCollector: abc, "alpha": abc}},
			wantStages: []string{StageCollector, "alpha", "zeta"},
			want:       map[time.Time][]string{h0: {StatusOK}},
			ok:         true,
		},
		{
			// The nextgen engine writes zero-count rows around its
			// records; an hour where nobody has events is left out.
			name: "zero-count rows where nobody has events are noise",
			hours: Hours{
				h0: {StageCollector: abc, StageArchive: abc, StageRaw: abc},
				h1: {StageRaw: {}, StageRollup: {}, StageTruthLegacy: {}},
			},
			wantStages: []string{StageCollector, StageArchive, StageRaw},
			want:       map[time.Time][]string{h0: {StatusOK}},
			ok:         true,
		},
		{
			name:       "a zero-count row where others have events is a finding",
			hours:      Hours{h0: {StageCollector: abc, StageArchive: abc, StageRaw: {}}},
			wantStages: []string{StageCollector, StageArchive, StageRaw},
			want:       map[time.Time][]string{h0: {StatusMismatch, "cassandra: 3 fewer than collector"}},
		},
		{
			// No post page view in the hour: the truth says 0 and legacy,
			// which counts only those, wrote nothing.
			name: "a stage without entries against a zero reference agrees",
			hours: Hours{
				h0: {StageCollector: abc, StageArchive: abc, StageTruthLegacy: {}},
				h1: {StageCollector: abc, StageArchive: abc, StageTruthLegacy: tallyOf("a"), StageLegacy: tallyOf("a")},
			},
			wantStages: []string{StageCollector, StageArchive, StageTruthLegacy, StageLegacy},
			want:       map[time.Time][]string{h0: {StatusOK}, h1: {StatusOK}},
			ok:         true,
		},
		{
			name:  "no data is inconclusive, not ok",
			hours: Hours{},
			want:  map[time.Time][]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare("acme", tc.hours, h0, h2.Add(time.Hour), now, 10*time.Minute)
			if strings.Join(r.Stages, ",") != strings.Join(tc.wantStages, ",") {
				t.Errorf("stages %v, want %v", r.Stages, tc.wantStages)
			}
			if r.OK() != tc.ok {
				t.Errorf("OK() = %v, want %v", r.OK(), tc.ok)
			}
			if len(r.Hours) != len(tc.want) {
				t.Fatalf("%d hours, want %d", len(r.Hours), len(tc.want))
			}
			for i, h := range r.Hours {
				if i > 0 && !r.Hours[i-1].Hour.Before(h.Hour) {
					t.Errorf("hours not in order")
				}
				got := []string{h.Status}
				for _, f := range h.Findings {
					got = append(got, f.Message)
				}
				if strings.Join(got, "|") != strings.Join(tc.want[h.Hour], "|") {
					t.Errorf("%s: got %q, want %q", h.Hour.Format("15:04"), got, tc.want[h.Hour])
				}
			}
		})
	}
}

// TestCompareLegacyDoubleCount is the case: in one hour legacy
// counted 415 post page views more than the truth (tracker-style retries of
// old event ids); the ledger says so in the legacy column, with the hour.
func TestCompareLegacyDoubleCount(t *testing.T) {
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var sent, posts, legacy Tally
	for i := range 5000 {
		id := fmt.Sprintf("e%d", i)
		sent.Add(id)
		if i%2 == 0 {
			posts.Add(id)
			legacy.Add(id)
		}
	}
	for i := range 415 { // retries of earlier post page views, counted again
		id := fmt.Sprintf("e%d", 2*i)
		sent.Add(id)
		legacy.Add(id)
	}
	hours := Hours{h0: {StageCollector: sent, StageArchive: sent, StageTruthLegacy: posts, StageLegacy: legacy}}
	r := Compare("acme", hours, h0, h0.Add(time.Hour), h0.Add(2*time.Hour), 10*time.Minute)
	if r.Verdict != diff.VerdictMismatch || r.Mismatched != 1 {
		t.Fatalf("verdict %s, %d mismatched; want mismatch", r.Verdict, r.Mismatched)
	}
	f := r.Hours[0].Findings
	if len(f) != 1 || f[0].Stage != StageLegacy || f[0].Kind != KindCountedTwice || f[0].Diff != 415 {
		t.Fatalf("findings %+v", f)
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TRUTH_LEGACY", "LEGACY", "2026-11-25 10:00", "legacy: 415 more than truth_legacy (counted twice", "verdict: MISMATCH"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
}

// TestCompareClockAhead: `--now` ahead of the wall clock cannot close a
// part the archiver still has open; the shortfall is not_closed, not lost.
func TestCompareClockAhead(t *testing.T) {
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	abc := tallyOf("a", "b", "c")
	hours := Hours{h0: {StageCollector: abc, StageArchive: tallyOf("a")}}
	wall := h0.Add(time.Hour + time.Minute)
	r := CompareWith(hours, CompareOptions{Customer: "acme", From: h0, To: h0.Add(time.Hour), Now: wall.Add(time.Hour), Wall: wall, Grace: 10 * time.Minute})
	if r.Verdict != diff.VerdictInconclusive || r.Open != 1 || r.Hours[0].Findings[0].Kind != KindNotClosed {
		t.Fatalf("verdict %s open %d findings %+v; want inconclusive, 1 open, not_closed", r.Verdict, r.Open, r.Hours[0].Findings)
	}
	if !strings.Contains(r.Reason, "no settled hours") {
		t.Errorf("reason %q", r.Reason)
	}
	// A stage with a lag beyond the grace is not closed until then.
	r = CompareWith(hours, CompareOptions{Customer: "acme", From: h0, To: h0.Add(time.Hour), Now: h0.Add(90 * time.Minute), Grace: 10 * time.Minute,
		Lags: map[string]time.Duration{StageArchive: time.Hour}})
	if r.Open != 1 || r.Hours[0].Findings[0].Kind != KindNotClosed {
		t.Errorf("lagging stage: open %d findings %+v", r.Open, r.Hours[0].Findings)
	}
	// Once closed by both clocks, the same shortfall is lost.
	r = CompareWith(hours, CompareOptions{Customer: "acme", From: h0, To: h0.Add(time.Hour), Now: h0.Add(3 * time.Hour), Grace: 10 * time.Minute})
	if r.Verdict != diff.VerdictMismatch || r.Hours[0].Findings[0].Kind != KindFewer {
		t.Errorf("closed: verdict %s findings %+v", r.Verdict, r.Hours[0].Findings)
	}
}

func TestCompareWindowAndCounts(t *testing.T) {
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	abc := tallyOf("a", "b", "c")
	hours := Hours{
		h0.Add(-time.Hour):    {StageCollector: abc}, // before from
		h0:                    {StageCollector: abc, StageArchive: tallyOf("a")},
		h0.Add(time.Hour):     {StageCollector: abc, StageArchive: abc},
		h0.Add(2 * time.Hour): {StageCollector: abc}, // at to: excluded
	}
	// from inside hour h0 still includes h0.
	r := Compare("acme", hours, h0.Add(20*time.Minute), h0.Add(2*time.Hour), h0.Add(2*time.Hour+5*time.Minute), 10*time.Minute)
	if len(r.Hours) != 2 || r.Settled != 1 || r.Open != 1 || r.Mismatched != 1 {
		t.Fatalf("hours %d settled %d open %d mismatched %d", len(r.Hours), r.Settled, r.Open, r.Mismatched)
	}
	f := r.Hours[0].Findings[0]
	if f.Kind != KindFewer || f.Diff != -2 || f.Stage != StageArchive || f.Reference != StageCollector {
		t.Errorf("finding %+v", f)
	}
}

func TestSettled(t *testing.T) {
	h := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		now  time.Time
		want bool
	}{
		{h.Add(30 * time.Minute), false},
		{h.Add(time.Hour), false},
		{h.Add(time.Hour + 9*time.Minute), false},
		{h.Add(time.Hour + 10*time.Minute), true},
		{h.Add(48 * time.Hour), true},
	}
	for _, tc := range tests {
		if got := Settled(h, tc.now, 10*time.Minute); got != tc.want {
			t.Errorf("Settled at %s = %v, want %v", tc.now.Format("15:04"), got, tc.want)
		}
	}
}

func TestRender(t *testing.T) {
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	abc := tallyOf("a", "b", "c")
	hours := Hours{h0: {StageCollector: abc, StageArchive: tallyOf("a", "b")}, h0.Add(time.Hour): {StageCollector: abc}}
	r := Compare("acme", hours, h0, h0.Add(2*time.Hour), h0.Add(3*time.Hour), 10*time.Minute)

	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"COLLECTOR", "ARCHIVE", "2026-11-25 10:00", "mismatch: archive: 1 fewer than collector",
		"archive: no entries (collector has 3)", "stages DISAGREE on 2 settled hour(s)", "3 " + fmt.Sprintf("%016x", abc.Hash)} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, txt.String())
		}
	}

	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Customer string `json:"customer"`
		OK       bool   `json:"ok"`
		Grace    string `json:"grace"`
		Hours    []struct {
			Status  string `json:"status"`
			Tallies map[string]struct {
				Count int64  `json:"count"`
				Hash  string `json:"hash"`
			} `json:"tallies"`
			Findings []Finding `json:"findings"`
		} `json:"hours"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("json report: %v\n%s", err, js.String())
	}
	if got.Customer != "acme" || got.OK || got.Grace != "10m0s" || len(got.Hours) != 2 {
		t.Fatalf("json report: %+v", got)
	}
	if tl := got.Hours[0].Tallies[StageCollector]; tl.Count != 3 || tl.Hash != fmt.Sprintf("%016x", abc.Hash) {
		t.Errorf("collector tally %+v", tl)
	}
	if f := got.Hours[0].Findings; len(f) != 1 || f[0].Kind != KindFewer {
		t.Errorf("findings %+v", f)
	}

	var empty bytes.Buffer
	Compare("acme", Hours{}, h0, h0.Add(time.Hour), h0, time.Minute).WriteText(&empty)
	if !strings.Contains(empty.String(), "no ledger entries") {
		t.Errorf("empty report: %s", empty.String())
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2026-11-25T10:00:00Z", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), false},
		{"2026-11-25T11:00:00+01:00", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"yesterday", time.Time{}, true},
		{"-1h", time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, now)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !got.Equal(tc.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
