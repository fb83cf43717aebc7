package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Schema names the JSON report format; it changes only when a field
// changes meaning or goes away (adding fields keeps it).
const Schema = "brooks.diff/v1"

// Report is the outcome of a comparison. Its JSON form is documented in
// README.md.
type Report struct {
	Schema string    `json:"schema"`
	Query  QueryInfo `json:"query"`
	Left   Side      `json:"left"`
	Right  Side      `json:"right"`
	// Now and SettleDelay are the comparison's clock; buckets ending after
	// SettledBefore (Now − SettleDelay) were not compared.
	Now           time.Time `json:"now"`
	SettleDelay   string    `json:"settle_delay"`
	SettledBefore time.Time `json:"settled_before"`
	Summary       Summary   `json:"summary"`
	// ByMetric has one entry per metric of either side, by name.
	ByMetric []MetricTally `json:"by_metric"`
	// Rules lists every rule given, in order, with its hits.
	Rules   []RuleHits `json:"rules"`
	Samples Samples    `json:"samples"`
	// Warnings are notes from normalisation and about differing queries.
	Warnings []string `json:"warnings"`
}

// QueryInfo is the question both sides answered.
type QueryInfo struct {
	Customer string    `json:"customer"`
	Interval string    `json:"interval"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
}

// Side describes one answer.
type Side struct {
	Name     string   `json:"name"`
	ServedBy string   `json:"served_by"`
	Series   int      `json:"series"`
	Cells    int      `json:"cells"`
	Metrics  []string `json:"metrics"`
	// OnlyMetrics are metrics this side's query has and the other's lacks:
	// their cells show up as missing on the other side.
	OnlyMetrics []string `json:"only_metrics"`
	// Approximate maps each approximate metric to its stated relative
	// standard error.
	Approximate map[string]float64 `json:"approximate"`
}

// Tally counts cells by class.
type Tally struct {
	// Cells present (non-zero) on at least one side.
	Cells int `json:"cells"`
	// Compared = Cells − Unsettled.
	Compared        int `json:"compared"`
	Matched         int `json:"matched"`
	WithinTolerance int `json:"within_tolerance"`
	Expected        int `json:"expected"`
	Unsettled       int `json:"unsettled"`
	MissingLeft     int `json:"missing_left"`
	MissingRight    int `json:"missing_right"`
	ValueDrift      int `json:"value_drift"`
	// Mismatches = MissingLeft + MissingRight + ValueDrift.
	Mismatches int `json:"mismatches"`
	// MatchRate = (Matched + WithinTolerance + Expected) / Compared; 1 when
	// nothing was compared, so gates must also look at Compared.
	MatchRate float64 `json:"match_rate"`
}

// Summary is the overall tally and verdict.
type Summary struct {
	Verdict Verdict `json:"verdict"`
	// MinCompared is the minimum of compared cells for a verdict other
	// than inconclusive.
	MinCompared int `json:"min_compared"`
	// Reason says, for an inconclusive verdict, what was missing and what
	// to do; empty otherwise.
	Reason string `json:"reason,omitempty"`
	Tally
}

// MetricTally is the tally of one metric.
type MetricTally struct {
	Metric string `json:"metric"`
	Tally
}

// RuleHits is a rule's outcome in one comparison.
type RuleHits struct {
	ID      string     `json:"id"`
	Reason  string     `json:"reason"`
	Effect  Effect     `json:"effect"`
	Expires *time.Time `json:"expires,omitempty"`
	Expired bool       `json:"expired"`
	Hits    int        `json:"hits"`
}

// Sample is one classified cell. Delta = Right − Left; Allowed is the
// tolerance's bound for settled differing cells; Rule names the rule of an
// expected cell.
type Sample struct {
	Series  map[string]string `json:"series"`
	Bucket  time.Time         `json:"bucket"`
	Metric  string            `json:"metric"`
	Left    float64           `json:"left"`
	Right   float64           `json:"right"`
	Delta   float64           `json:"delta"`
	Allowed float64           `json:"allowed"`
	Rule    string            `json:"rule,omitempty"`
}

// Samples holds up to Options.SampleCap samples per class, in key order.
type Samples struct {
	MissingLeft     []Sample `json:"missing_left"`
	MissingRight    []Sample `json:"missing_right"`
	ValueDrift      []Sample `json:"value_drift"`
	Expected        []Sample `json:"expected"`
	WithinTolerance []Sample `json:"within_tolerance"`
	Unsettled       []Sample `json:"unsettled"`
}

// OK reports whether the verdict is match: no mismatch, and at least
// Options.MinCompared cells compared.
func (r *Report) OK() bool { return r.Summary.Verdict == VerdictMatch }

// Verdict is VerdictMatch, VerdictMismatch or VerdictInconclusive.
func (r *Report) Verdict() Verdict { return r.Summary.Verdict }

// Count returns the number of cells in a class.
func (r *Report) Count(c Class) int { return tallyOf(&r.Summary.Tally, c) }

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func makeTally(n [numClasses]int) Tally {
	t := Tally{
		Matched: n[Matched], WithinTolerance: n[WithinTolerance], Expected: n[Expected], Unsettled: n[Unsettled],
		MissingLeft: n[MissingLeft], MissingRight: n[MissingRight], ValueDrift: n[ValueDrift],
	}
	for _, v := range n {
		t.Cells += v
	}
	t.Compared = t.Cells - t.Unsettled
	t.Mismatches = t.MissingLeft + t.MissingRight + t.ValueDrift
	t.MatchRate = 1
	if t.Compared > 0 {
		t.MatchRate = float64(t.Matched+t.WithinTolerance+t.Expected) / float64(t.Compared)
	}
	return t
}

func (c *comparer) side(r *Result, fallback string, other *Result) Side {
	s := Side{
		Name: sideName(r.Name, fallback), ServedBy: r.ServedBy, Series: len(r.Series), Cells: len(r.Cells),
		Metrics: r.Metrics, OnlyMetrics: onlyIn(r.Metrics, other.Metrics), Approximate: map[string]float64{},
	}
	for i, e := range r.RelStdErr {
		if e > 0 {
			s.Approximate[r.Metrics[i]] = e
		}
	}
	return s
}

func (c *comparer) report() *Report {
	l, r := c.left, c.right
	rep := &Report{
		Schema: Schema,
		Query:  QueryInfo{Customer: l.Customer, Interval: l.Interval, From: l.From, To: l.To},
		Left:   c.side(l, "left", r), Right: c.side(r, "right", l),
		Now: c.now, SettleDelay: c.opts.SettleDelay.String(), SettledBefore: c.now.Add(-c.opts.SettleDelay),
		Summary:  Summary{Tally: makeTally(c.tally)},
		ByMetric: make([]MetricTally, len(c.metrics)),
		Rules:    make([]RuleHits, len(c.opts.Rules)),
		Warnings: []string{},
	}
	if c.opts.LeftName != "" {
		rep.Left.Name = c.opts.LeftName
	}
	if c.opts.RightName != "" {
		rep.Right.Name = c.opts.RightName
	}
	if rep.Query.Customer == "" {
		rep.Query.Customer = r.Customer
	}
	rep.Summary.MinCompared = max(c.opts.MinCompared, 1)
	rep.Summary.Verdict = Judge(rep.Summary.Compared, rep.Summary.Mismatches, rep.Summary.MinCompared)
	if rep.Summary.Verdict == VerdictInconclusive {
		rep.Summary.Reason = inconclusiveReason(&rep.Summary, c.opts.SettleDelay, rep.SettledBefore)
	}
	for i, m := range c.metrics {
		rep.ByMetric[i] = MetricTally{Metric: m, Tally: makeTally(c.byMetric[i])}
	}
	for i := range c.opts.Rules {
		rule := &c.opts.Rules[i]
		h := RuleHits{ID: rule.ID, Reason: rule.Reason, Effect: rule.Effect, Expired: rule.Expired(c.now), Hits: c.rules.hits[i]}
		if !rule.Expires.IsZero() {
			h.Expires = &rule.Expires
		}
		rep.Rules[i] = h
	}
	nonNil := func(s []Sample) []Sample {
		if s == nil {
			return []Sample{}
		}
		return s
	}
	rep.Samples = Samples{
		MissingLeft: nonNil(c.samples[MissingLeft]), MissingRight: nonNil(c.samples[MissingRight]),
		ValueDrift: nonNil(c.samples[ValueDrift]), Expected: nonNil(c.samples[Expected]),
		WithinTolerance: nonNil(c.samples[WithinTolerance]), Unsettled: nonNil(c.samples[Unsettled]),
	}
	for _, w := range l.Warnings {
		rep.Warnings = append(rep.Warnings, rep.Left.Name+": "+w)
	}
	for _, w := range r.Warnings {
		rep.Warnings = append(rep.Warnings, rep.Right.Name+": "+w)
	}
	if d := queryDiff(l.Query, r.Query); d != "" {
		rep.Warnings = append(rep.Warnings, "queries differ: "+d)
	}
	if q := l.Query; q != nil && q.Limit > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("top-%d query: series near the cut-off may differ where values tie", q.Limit))
	}
	if len(rep.Left.OnlyMetrics)+len(rep.Right.OnlyMetrics) > 0 {
		rep.Warnings = append(rep.Warnings, "metrics differ: only left "+jsonList(rep.Left.OnlyMetrics)+", only right "+jsonList(rep.Right.OnlyMetrics))
	}
	return rep
}

func jsonList(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// inconclusiveReason says what was missing and what to do.
func inconclusiveReason(s *Summary, settle time.Duration, settledBefore time.Time) string {
	switch {
	case s.Cells == 0:
		return "no cells on either side: both answers are empty; check the customer and choose a range with traffic"
	case s.Compared == 0:
		return fmt.Sprintf("no settled cells (%d unsettled): choose a range that ended more than %s ago (before %s)",
			s.Unsettled, settle, settledBefore.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("compared %d cells, fewer than the minimum %d (%d unsettled): choose a longer range that ended more than %s ago, or lower --min-compared",
		s.Compared, s.MinCompared, s.Unsettled, settle)
}
