package replay

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	cells := func(verdicts ...string) []*CellVerdict {
		var out []*CellVerdict
		for _, v := range verdicts {
			out = append(out, &CellVerdict{Interval: "5m", Metric: "pageviews", Verdict: v})
		}
		return out
	}
	tests := []struct {
		name     string
		cells    []*CellVerdict
		refused  []Refusal
		raw      []RawHour
		question string
		rawErr   string
		verdict  string
		code     int
	}{
		{"all right", cells(BothRight, BothRight), nil, []RawHour{{Status: RawOK}}, "", "", VerdictClean, ExitClean},
		{"legacy wrong", cells(BothRight, LegacyWrong), nil, nil, "", "", VerdictFault, ExitFault},
		{"nextgen wrong beside unsettled", cells(Unsettled, NextgenWrong), nil, nil, "", "", VerdictFault, ExitFault},
		{"refused part", cells(BothRight), []Refusal{{Key: "k", Reason: "sha256"}}, nil, "", "", VerdictFault, ExitFault},
		{"raw store wrong", cells(BothRight), nil, []RawHour{{Status: RawMismatch, Reason: "lacks 3"}}, "", "", VerdictFault, ExitFault},
		{"nothing settled", cells(Unsettled, Unsettled), nil, nil, "", "", VerdictInconclusive, ExitInconclusive},
		{"no cells at all", nil, nil, nil, "", "", VerdictInconclusive, ExitInconclusive},
		{"a system did not answer", cells(BothRight), nil, nil, "connection refused", "", VerdictInconclusive, ExitInconclusive},
		{"raw store unreadable", cells(BothRight), nil, nil, "", "timeout", VerdictInconclusive, ExitInconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReport(&Truth{From: time.Unix(0, 0), To: time.Unix(300, 0), Refused: tt.refused, Hours: map[time.Time]*HourEvidence{}}, Options{})
			r.setCells(tt.cells)
			r.RawStore, r.RawStoreError = tt.raw, tt.rawErr
			if tt.question != "" {
				r.Questions = append(r.Questions, QuestionResult{System: "legacy", Error: tt.question})
			}
			r.decide()
			if r.Verdict != tt.verdict || r.ExitCode != tt.code || (r.Verdict != VerdictClean && len(r.Reasons) == 0) {
				t.Errorf("verdict %s exit %d reasons %v, want %s %d", r.Verdict, r.ExitCode, r.Reasons, tt.verdict, tt.code)
			}
			var text bytes.Buffer
			if err := r.Text(&text, 10); err != nil || !strings.Contains(text.String(), "verdict: "+strings.ToUpper(tt.verdict)) {
				t.Errorf("text report: %v\n%s", err, text.String())
			}
		})
	}
}

// TestLogProgress: away from a terminal, progress is plain log lines with
// done, total, rate and ETA.
func TestLogProgress(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, slog.New(slog.NewTextHandler(&buf, nil)), "replay acme.example", time.Nanosecond)
	p.Start(100)
	p.Add(40)
	p.Add(60)
	p.Finish()
	out := buf.String()
	for _, want := range []string{"what=\"replay acme.example\"", "done=40 total=100", "eta=", "msg=\"progress done\"", "done=100 total=100"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress log lacks %q:\n%s", want, out)
		}
	}
}
