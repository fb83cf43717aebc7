package ledger

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText prints the report as a table: one row per hour, each stage's
// count and hash side by side, the status and what disagrees.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "ledger of %s, %s to %s UTC (an hour settles %s after it ends)\n",
		r.Customer, r.From.Format("2006-01-02 15:04"), r.To.Format("2006-01-02 15:04"), r.Grace)
	if len(r.Hours) == 0 {
		_, err := fmt.Fprintf(w, "no ledger entries in this period\nverdict: %s\nwhy: %s\n", r.Verdict.Upper(), r.Reason)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"HOUR"}
	for _, s := range r.Stages {
		head = append(head, strings.ToUpper(s))
	}
	fmt.Fprintln(tw, strings.Join(append(head, "STATUS"), "\t"))
	for _, h := range r.Hours {
		row := []string{h.Hour.Format("2006-01-02 15:04")}
		for _, s := range r.Stages {
			if t, ok := h.Tallies[s]; ok {
				row = append(row, fmt.Sprintf("%d %016x", t.Count, t.Hash))
			} else {
				row = append(row, "-")
			}
		}
		status := h.Status
		if len(h.Findings) > 0 {
			msgs := make([]string, len(h.Findings))
			for i, f := range h.Findings {
				msgs[i] = f.Message
			}
			status += ": " + strings.Join(msgs, "; ")
		}
		fmt.Fprintln(tw, strings.Join(append(row, status), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "all stages agree on every settled hour"
	if r.Mismatched > 0 {
		verdict = fmt.Sprintf("stages DISAGREE on %d settled hour(s)", r.Mismatched)
	}
	fmt.Fprintf(w, "%d hour(s) with entries: %d settled, %d open; %s\n", len(r.Hours), r.Settled, r.Open, verdict)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	_, err := fmt.Fprintf(w, "verdict: %s\n", r.Verdict.Upper())
	if err == nil && r.Reason != "" {
		_, err = fmt.Fprintf(w, "why: %s\n", r.Reason)
	}
	return err
}

type jsonTally struct {
	Count int64  `json:"count"`
	Hash  string `json:"hash"`
}

type jsonHour struct {
	HourReport
	Tallies map[string]jsonTally `json:"tallies"`
}

// WriteJSON writes the report as one JSON document; hashes are 16 hex
// digits (a uint64 does not survive JSON readers that use doubles).
func (r *Report) WriteJSON(w io.Writer) error {
	out := struct {
		*Report
		Grace string     `json:"grace"`
		OK    bool       `json:"ok"`
		Hours []jsonHour `json:"hours"`
	}{Report: r, Grace: r.Grace.String(), OK: r.OK(), Hours: []jsonHour{}}
	for _, h := range r.Hours {
		jh := jsonHour{HourReport: h, Tallies: map[string]jsonTally{}}
		for s, t := range h.Tallies {
			jh.Tallies[s] = jsonTally{Count: t.Count, Hash: fmt.Sprintf("%016x", t.Hash)}
		}
		out.Hours = append(out.Hours, jh)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ParseTime reads a report bound: RFC 3339, or a duration before now
// ("24h" means 24 hours ago).
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-11-25T10:00:00Z) or a duration ago (24h)", s)
}
