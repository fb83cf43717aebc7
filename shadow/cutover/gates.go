package cutover

import (
	"context"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/evidence"
)

// Gate is one condition of a transition at one moment: its value, its
// threshold and whether it passes. A gate whose evidence cannot be read
// fails, with the reason in Detail: nothing passes without evidence.
type Gate struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Threshold string `json:"threshold"`
	Pass      bool   `json:"pass"`
	Detail    string `json:"detail,omitempty"`
}

func (g Gate) String() string {
	verdict := "FAIL"
	if g.Pass {
		verdict = "pass"
	}
	s := fmt.Sprintf("%s = %s (threshold %s): %s", g.Name, g.Value, g.Threshold, verdict)
	if g.Detail != "" {
		s += " — " + g.Detail
	}
	return s
}

// Failing returns the gates that do not pass.
func Failing(gs []Gate) []Gate {
	var out []Gate
	for _, g := range gs {
		if !g.Pass {
			out = append(out, g)
		}
	}
	return out
}

// GateOptions are the gates' thresholds. Every field has a default
// (DefaultGateOptions); see the package README for the table.
type GateOptions struct {
	// SettleWindow: legacy → shadow needs nextgen data older than this;
	// audit days count once they ended this long ago.
	SettleWindow time.Duration
	// DataLookback bounds the nextgen data query of legacy → shadow. It
	// must stay inside nextgen's 5-minute retention (8 days): the query
	// ends on a 5-minute boundary, and a longer one is answered 422.
	DataLookback time.Duration
	// AuditDays: shadow → live and live → complete need a clean audit
	// certificate for each of the last AuditDays settled UTC days.
	AuditDays int
	// EvidenceWindow is the shadow evidence period read for shadow → live.
	EvidenceWindow time.Duration
	// MinMatchRate and MinSettled: match rate over at least MinSettled
	// settled comparisons in the window.
	MinMatchRate float64
	MinSettled   int
	// MinCoverage of the query matrix.
	MinCoverage float64
	// MaxFreshnessP99 of nextgen (event to queryable).
	MaxFreshnessP99 time.Duration
	// LiveFor: live → complete needs this long live without a rollback.
	LiveFor time.Duration
}

// DefaultGateOptions are the documented defaults.
func DefaultGateOptions() GateOptions {
	return GateOptions{
		SettleWindow: 2 * time.Hour, DataLookback: 7 * 24 * time.Hour,
		AuditDays: 7, EvidenceWindow: 7 * 24 * time.Hour,
		MinMatchRate: 0.999, MinSettled: 1000, MinCoverage: 0.95,
		MaxFreshnessP99: 60 * time.Second, LiveFor: 7 * 24 * time.Hour,
	}
}

// Evidence is the shadow evidence of a customer over a period
// (shadow/evidence); EvidenceSummaries adapts an evidence.Reader.
type Evidence interface {
	Summary(ctx context.Context, customer string, since, until time.Time) (*evidence.Summary, error)
}

// EvidenceSummaries summarizes an evidence store with fixed options.
type EvidenceSummaries struct {
	Reader  evidence.Reader
	Options evidence.SummaryOptions
}

// Summary implements Evidence.
func (e EvidenceSummaries) Summary(ctx context.Context, customer string, since, until time.Time) (*evidence.Summary, error) {
	return evidence.Summarize(ctx, e.Reader, customer, since, until, e.Options)
}

// AuditVerdicts gives the audit's verdict per customer-day: Days returns
// every UTC day in [from, to) that has a certificate, with whether it is
// clean. Days without one are absent.
type AuditVerdicts interface {
	Days(ctx context.Context, customer string, from, to time.Time) (map[string]bool, error)
}

// Querier asks nextgen a query (*query.Client).
type Querier interface {
	Do(ctx context.Context, q *query.Query) (*query.Answer, error)
}

// Freshness is nextgen's event-to-queryable p99.
type Freshness interface {
	FreshnessP99(ctx context.Context) (time.Duration, error)
}

// Gates evaluates the gates of each transition; a nil source makes its
// gates fail with "no ... evidence".
type Gates struct {
	Options   GateOptions
	Evidence  Evidence
	Audit     AuditVerdicts
	Nextgen   Querier
	Freshness Freshness
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (g *Gates) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Evaluate returns the gates of moving cur to to. Rollbacks have none.
func (g *Gates) Evaluate(ctx context.Context, cur Record, to State) []Gate {
	switch {
	case cur.State == Legacy && to == Shadow:
		return []Gate{g.nextgenData(ctx, cur.Customer)}
	case cur.State == Shadow && to == Live:
		return append([]Gate{g.audit(ctx, cur.Customer)}, append(g.shadow(ctx, cur.Customer), g.freshness(ctx))...)
	case cur.State == Live && to == Complete:
		return []Gate{g.liveFor(cur), g.audit(ctx, cur.Customer)}
	}
	return nil
}

func fail(name, threshold, detail string) Gate {
	return Gate{Name: name, Value: "unknown", Threshold: threshold, Detail: detail}
}

func (g *Gates) nextgenData(ctx context.Context, customer string) Gate {
	const name = "nextgen_data"
	o := g.Options
	th := fmt.Sprintf("page views older than %s", o.SettleWindow)
	if g.Nextgen == nil {
		return fail(name, th, "no nextgen query API configured")
	}
	to := g.now().Add(-o.SettleWindow).Truncate(5 * time.Minute)
	q := &query.Query{Customer: customer, Metrics: []string{"pageviews"}, From: to.Add(-o.DataLookback).Truncate(5 * time.Minute), To: to, Interval: "total"}
	a, err := g.Nextgen.Do(ctx, q)
	if err != nil {
		return fail(name, th, "nextgen query: "+err.Error())
	}
	var n float64
	for _, s := range a.Series {
		for _, p := range s.Points {
			n += p.Values["pageviews"]
		}
	}
	return Gate{Name: name, Value: fmt.Sprintf("%g page views before %s", n, to.Format(time.RFC3339)), Threshold: th, Pass: n > 0}
}

func (g *Gates) shadow(ctx context.Context, customer string) []Gate {
	o := g.Options
	ths := []string{fmt.Sprintf(">= %g", o.MinMatchRate), fmt.Sprintf(">= %d", o.MinSettled), fmt.Sprintf(">= %g", o.MinCoverage), "0"}
	names := []string{"match_rate", "settled_comparisons", "coverage", "open_mismatches"}
	var s *evidence.Summary
	var err error
	if g.Evidence == nil {
		err = fmt.Errorf("no shadow evidence store configured")
	} else {
		now := g.now()
		s, err = g.Evidence.Summary(ctx, customer, now.Add(-o.EvidenceWindow), now)
	}
	if err != nil {
		out := make([]Gate, len(names))
		for i := range names {
			out[i] = fail(names[i], ths[i], "shadow evidence: "+err.Error())
		}
		return out
	}
	rate := Gate{Name: names[0], Value: fmt.Sprintf("%.5f", s.MatchRate), Threshold: ths[0], Pass: s.Settled > 0 && s.MatchRate >= o.MinMatchRate,
		Detail: fmt.Sprintf("%d of %d settled comparisons matching over %s", s.Matching, s.Settled, o.EvidenceWindow)}
	if s.Settled == 0 {
		rate.Detail = "no settled comparison in " + o.EvidenceWindow.String()
	}
	return []Gate{rate,
		{Name: names[1], Value: fmt.Sprint(s.Settled), Threshold: ths[1], Pass: s.Settled >= o.MinSettled},
		{Name: names[2], Value: fmt.Sprintf("%.3f", s.Coverage), Threshold: ths[2], Pass: s.MatrixShapes > 0 && s.Coverage >= o.MinCoverage,
			Detail: fmt.Sprintf("%d of %d matrix shapes", s.CoveredShapes, s.MatrixShapes)},
		{Name: names[3], Value: fmt.Sprint(s.OpenCount), Threshold: ths[3], Pass: s.OpenCount == 0},
	}
}

func (g *Gates) freshness(ctx context.Context) Gate {
	const name = "nextgen_freshness_p99"
	th := fmt.Sprintf("< %s", g.Options.MaxFreshnessP99)
	if g.Freshness == nil {
		return fail(name, th, "no freshness evidence (no nextgen metrics source configured)")
	}
	p99, err := g.Freshness.FreshnessP99(ctx)
	if err != nil {
		return fail(name, th, "no freshness evidence: "+err.Error())
	}
	return Gate{Name: name, Value: p99.String(), Threshold: th, Pass: p99 < g.Options.MaxFreshnessP99}
}

// settledDays are the last n UTC days that ended at least settle ago.
func settledDays(now time.Time, settle time.Duration, n int) []time.Time {
	last := now.Add(-settle).UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	days := make([]time.Time, 0, n)
	for i := range n {
		days = append(days, last.AddDate(0, 0, -i))
	}
	return days
}

func (g *Gates) audit(ctx context.Context, customer string) Gate {
	const name = "audit_clean_days"
	n := g.Options.AuditDays
	th := fmt.Sprintf("%d of the last %d settled days", n, n)
	if g.Audit == nil {
		return fail(name, th, "no audit evidence (no certificate source configured)")
	}
	days := settledDays(g.now(), g.Options.SettleWindow, n)
	if len(days) == 0 {
		return Gate{Name: name, Value: "0", Threshold: th, Pass: true, Detail: "no audit days required"}
	}
	got, err := g.Audit.Days(ctx, customer, days[len(days)-1], days[0].AddDate(0, 0, 1))
	if err != nil {
		return fail(name, th, "no audit evidence: "+err.Error())
	}
	clean, missing, dirty := 0, []string{}, []string{}
	for _, d := range days {
		key := d.Format("2006-01-02")
		switch c, ok := got[key]; {
		case !ok:
			missing = append(missing, key)
		case !c:
			dirty = append(dirty, key)
		default:
			clean++
		}
	}
	gt := Gate{Name: name, Value: fmt.Sprint(clean), Threshold: th, Pass: clean == n}
	if len(missing) > 0 {
		gt.Detail = fmt.Sprintf("no audit evidence for %v", missing)
	}
	if len(dirty) > 0 {
		gt.Detail += fmt.Sprintf(" not clean: %v", dirty)
	}
	return gt
}

func (g *Gates) liveFor(cur Record) Gate {
	th := fmt.Sprintf(">= %s", g.Options.LiveFor)
	d := g.now().Sub(cur.ChangedAt).Truncate(time.Second)
	return Gate{Name: "live_without_rollback", Value: d.String(), Threshold: th, Pass: !cur.ChangedAt.IsZero() && d >= g.Options.LiveFor,
		Detail: "since " + cur.ChangedAt.Format(time.RFC3339)}
}
