package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brooksdata/brooks/query"
)

// Schema names the JSON report's format.
const Schema = "brooks.audit/v1"

// Overall verdicts and exit codes of a replay.
const (
	VerdictClean        = "clean"        // every settled cell both right, raw store equal, no part refused
	VerdictFault        = "fault"        // a settled cell or hour is wrong, or an archive part was refused
	VerdictInconclusive = "inconclusive" // nothing settled was compared, or a question went unanswered

	ExitClean        = 0
	ExitFault        = 1
	ExitUsage        = 2
	ExitInconclusive = 3
)

// Report is the whole result of a replay, one JSON document.
type Report struct {
	Schema      string    `json:"schema"`
	Customer    string    `json:"customer"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Now         time.Time `json:"now"`
	SettleDelay string    `json:"settle_delay"`
	Verdict     string    `json:"verdict"`
	ExitCode    int       `json:"exit_code"`
	// Reasons say why the verdict is not clean.
	Reasons []string       `json:"reasons"`
	Archive ArchiveSummary `json:"archive"`
	// Counts is the number of cells per verdict; ByMetric the same per
	// metric; Compared the settled cells judged on a system's answer.
	Counts        map[string]int            `json:"counts"`
	ByMetric      map[string]map[string]int `json:"by_metric"`
	Compared      int                       `json:"compared"`
	Questions     []QuestionResult          `json:"questions"`
	RawStore      []RawHour                 `json:"raw_store"`
	RawStoreError string                    `json:"raw_store_error,omitempty"`
	Cells         []*CellVerdict            `json:"cells"`
	// ReadSeconds is the time to read and aggregate the archive;
	// ReplaySeconds the whole replay, questions and raw store included.
	ReadSeconds   float64 `json:"read_seconds"`
	ReplaySeconds float64 `json:"replay_seconds"`
}

// ArchiveSummary is what the replay read.
type ArchiveSummary struct {
	Parts      int64     `json:"parts"`
	Records    int64     `json:"records"`
	Events     int64     `json:"events"`
	Duplicates int64     `json:"duplicates"`
	Refused    []Refusal `json:"refused"`
	Orphans    []string  `json:"orphans"`
	Hours      []HourSum `json:"hours"`
}

// HourSum is the archive's tally of an hour's distinct events.
type HourSum struct {
	Hour  time.Time `json:"hour"`
	Parts int       `json:"parts"`
	TallyJSON
}

// QuestionResult is one question asked of one system.
type QuestionResult struct {
	System   string    `json:"system"`
	Interval string    `json:"interval"`
	GroupBy  []string  `json:"group_by"`
	Metrics  []string  `json:"metrics"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Series   int       `json:"series"`
	Error    string    `json:"error,omitempty"`
}

func newReport(tr *Truth, o Options) *Report {
	r := &Report{
		Schema: Schema, Customer: tr.Customer, From: tr.From, To: tr.To, Now: o.Now, SettleDelay: o.SettleDelay.String(),
		Reasons: []string{}, Counts: map[string]int{}, ByMetric: map[string]map[string]int{}, Questions: []QuestionResult{}, RawStore: []RawHour{},
		Archive: ArchiveSummary{Parts: tr.Parts, Records: tr.Records, Events: tr.Events, Duplicates: tr.Duplicates,
			Refused: append([]Refusal{}, tr.Refused...), Orphans: append([]string{}, tr.Orphans...), Hours: []HourSum{}},
	}
	for h := tr.From.Truncate(time.Hour); h.Before(tr.To); h = h.Add(time.Hour) {
		if ev := tr.Hours[h]; ev != nil {
			r.Archive.Hours = append(r.Archive.Hours, HourSum{Hour: h, Parts: ev.Parts, TallyJSON: tallyJSON(ev.Tally)})
		}
	}
	for _, v := range Verdicts {
		r.Counts[v] = 0
	}
	return r
}

func (r *Report) setCells(cells []*CellVerdict) {
	r.Cells = cells
	for _, c := range cells {
		r.Counts[c.Verdict]++
		bm := r.ByMetric[c.Metric]
		if bm == nil {
			bm = map[string]int{}
			r.ByMetric[c.Metric] = bm
		}
		bm[c.Verdict]++
		if c.Verdict != Unsettled {
			r.Compared++
		}
	}
}

// decide sets the verdict and exit code: a fault when any settled cell or
// raw-store hour is wrong or a part was refused; otherwise inconclusive
// when nothing settled was compared or a question went unanswered; clean
// only then.
func (r *Report) decide() {
	wrong := r.Counts[LegacyWrong] + r.Counts[NextgenWrong] + r.Counts[BothWrong]
	if wrong > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d settled cells wrong (legacy %d, nextgen %d, both %d)", wrong, r.Counts[LegacyWrong], r.Counts[NextgenWrong], r.Counts[BothWrong]))
	}
	rawCompared := 0
	for _, h := range r.RawStore {
		switch h.Status {
		case RawMismatch:
			r.Reasons = append(r.Reasons, fmt.Sprintf("raw store %s: %s", h.Hour.Format("2006-01-02 15:04"), h.Reason))
		case RawOK:
			rawCompared++
		}
	}
	for _, p := range r.Archive.Refused {
		r.Reasons = append(r.Reasons, fmt.Sprintf("archive part refused: %s: %s", p.Key, p.Reason))
	}
	fault := len(r.Reasons) > 0
	unanswered := 0
	for _, q := range r.Questions {
		if q.Error != "" {
			unanswered++
		}
	}
	switch {
	case fault:
		r.Verdict, r.ExitCode = VerdictFault, ExitFault
	case r.Compared == 0:
		r.Verdict, r.ExitCode = VerdictInconclusive, ExitInconclusive
		r.Reasons = append(r.Reasons, "nothing settled was compared: INCONCLUSIVE, not a pass")
	case unanswered > 0 || r.RawStoreError != "":
		r.Verdict, r.ExitCode = VerdictInconclusive, ExitInconclusive
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d questions unanswered, raw store error %q: INCONCLUSIVE, not a pass", unanswered, r.RawStoreError))
	default:
		r.Verdict, r.ExitCode = VerdictClean, ExitClean
	}
}

// OK reports a clean verdict.
func (r *Report) OK() bool { return r.Verdict == VerdictClean }

// Faults returns the cells whose verdict names a wrong system.
func (r *Report) Faults() []*CellVerdict {
	var out []*CellVerdict
	for _, c := range r.Cells {
		if c.Verdict == LegacyWrong || c.Verdict == NextgenWrong || c.Verdict == BothWrong {
			out = append(out, c)
		}
	}
	return out
}

// KeepFaults drops the cells judged "both right" from Cells (Counts keep
// them), for reports of large scopes.
func (r *Report) KeepFaults() {
	kept := r.Cells[:0]
	for _, c := range r.Cells {
		if c.Verdict != BothRight {
			kept = append(kept, c)
		}
	}
	r.Cells = kept
}

// JSON writes the report as one indented JSON document.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Text writes the report for people: the scope, what was read, the
// counts per verdict, the raw-store hours, then up to maxCells wrong cells
// with all three values (0: all).
func (r *Report) Text(w io.Writer, maxCells int) error {
	fmt.Fprintf(w, "audit replay of %s, %s to %s (judged at %s, settle %s)\n", r.Customer, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Now.Format(time.RFC3339), r.SettleDelay)
	a := r.Archive
	fmt.Fprintf(w, "archive: %d parts, %d records, %d distinct events in scope, %d duplicates skipped, %d parts refused, %d orphans\n",
		a.Parts, a.Records, a.Events, a.Duplicates, len(a.Refused), len(a.Orphans))
	for _, p := range a.Refused {
		fmt.Fprintf(w, "REFUSED %s: %s\n", p.Key, p.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tCELLS")
	for _, v := range Verdicts {
		fmt.Fprintf(tw, "%s\t%d\n", v, r.Counts[v])
	}
	tw.Flush()
	for _, q := range r.Questions {
		if q.Error != "" {
			fmt.Fprintf(w, "UNANSWERED %s %s by %v: %s\n", q.System, q.Interval, q.GroupBy, q.Error)
		}
	}
	if len(r.RawStore) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "HOUR\tARCHIVE\tRAW STORE\tSTATUS")
		for _, h := range r.RawStore {
			st := h.Status
			if h.Reason != "" {
				st += ": " + h.Reason
			}
			fmt.Fprintf(tw, "%s\t%d %s\t%d %s\t%s\n", h.Hour.Format("2006-01-02 15:04"), h.Archive.Count, h.Archive.Hash, h.Raw.Count, h.Raw.Hash, st)
		}
		tw.Flush()
	}
	if r.RawStoreError != "" {
		fmt.Fprintf(w, "raw store not compared: %s\n", r.RawStoreError)
	}
	faults := r.Faults()
	if len(faults) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "INTERVAL\tBUCKET\tKEY\tMETRIC\tTRUTH\tLEGACY (ITS TRUTH)\tNEXTGEN\tVERDICT")
		for i, c := range faults {
			if maxCells > 0 && i == maxCells {
				fmt.Fprintf(tw, "... %d more (see --format json)\n", len(faults)-maxCells)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%g\t%s (%s)\t%s\t%s\n", c.Interval, c.Bucket.Format("2006-01-02 15:04"), keyText(c.Key), c.Metric, c.Truth,
				num(c.Legacy), num(c.LegacyTruth), num(c.Nextgen), c.Verdict)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "verdict: %s", strings.ToUpper(r.Verdict))
	if len(r.Reasons) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(r.Reasons, "; "))
	}
	fmt.Fprintln(w)
	return nil
}

func keyText(k map[string]string) string {
	if len(k) == 0 {
		return "(all)"
	}
	return query.KeyString(k)
}

func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%g", *v)
}
