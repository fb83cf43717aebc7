package diff

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brooksdata/brooks/query"
)

// Text writes the report for a person: verdict first, then counts, rules,
// samples and warnings.
func (r *Report) Text(w io.Writer) error {
	ew := &errWriter{w: w}
	s := &r.Summary
	ew.printf("brooks diff: %s (left) vs %s (right)\n", r.Left.Name, r.Right.Name)
	ew.printf("query: %s, %s buckets, %s .. %s\n", r.Query.Customer, r.Query.Interval, fmtTime(r.Query.From), fmtTime(r.Query.To))
	ew.printf("now %s, settle %s: buckets ending after %s not compared\n", fmtTime(r.Now), r.SettleDelay, fmtTime(r.SettledBefore))
	ew.printf("verdict: %s\n", s.Verdict.Upper())
	if s.Reason != "" {
		ew.printf("why: %s\n", s.Reason)
	}
	ew.printf("compared %d of %d cells, match rate %s, %d mismatches\n\n", s.Compared, s.Cells, percent(s.MatchRate), s.Mismatches)

	tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "class\tall\t")
	for _, m := range r.ByMetric {
		fmt.Fprintf(tw, "%s\t", m.Metric)
	}
	fmt.Fprintln(tw)
	for _, c := range Classes {
		fmt.Fprintf(tw, "%s\t%d\t", c, tallyOf(&s.Tally, c))
		for i := range r.ByMetric {
			fmt.Fprintf(tw, "%d\t", tallyOf(&r.ByMetric[i].Tally, c))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "match rate\t%s\t", percent(s.MatchRate))
	for _, m := range r.ByMetric {
		fmt.Fprintf(tw, "%s\t", percent(m.MatchRate))
	}
	fmt.Fprintln(tw)
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(r.Rules) > 0 {
		ew.printf("\nrules:\n")
		for _, h := range r.Rules {
			state := fmt.Sprintf("%d hits", h.Hits)
			if h.Expired {
				state = "expired " + h.Expires.Format(time.RFC3339)
			}
			ew.printf("  %-28s %-14s %-14s %s\n", h.ID, state, h.Effect, h.Reason)
		}
	}
	for _, g := range []struct {
		c Class
		s []Sample
	}{
		{MissingLeft, r.Samples.MissingLeft}, {MissingRight, r.Samples.MissingRight},
		{ValueDrift, r.Samples.ValueDrift}, {Expected, r.Samples.Expected},
		{WithinTolerance, r.Samples.WithinTolerance}, {Unsettled, r.Samples.Unsettled},
	} {
		if len(g.s) == 0 {
			continue
		}
		shown := fmt.Sprintf("showing %d", len(g.s))
		if g.c == Unsettled {
			shown += " that differ"
		}
		ew.printf("\n%s: %d, %s\n", g.c, r.Count(g.c), shown)
		for _, x := range g.s {
			ew.printf("  %s  %-16s %s  left=%s right=%s delta=%s", fmtTime(x.Bucket), x.Metric,
				query.KeyString(x.Series), num(x.Left), num(x.Right), signed(x.Delta))
			if g.c != Unsettled {
				ew.printf(" allowed=%s", strconv.FormatFloat(x.Allowed, 'g', 4, 64))
			}
			if x.Rule != "" {
				ew.printf(" rule=%s", x.Rule)
			}
			ew.printf("\n")
		}
	}
	if len(r.Warnings) > 0 {
		ew.printf("\nwarnings:\n")
		for _, wn := range r.Warnings {
			ew.printf("  %s\n", strings.ReplaceAll(wn, "\n", "\n    "))
		}
	}
	return ew.err
}

func tallyOf(t *Tally, c Class) int {
	return [numClasses]int{t.Matched, t.WithinTolerance, t.Expected, t.Unsettled, t.MissingLeft, t.MissingRight, t.ValueDrift}[c]
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 2, 64) + "%" }

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func signed(f float64) string {
	if f > 0 {
		return "+" + num(f)
	}
	return num(f)
}

// errWriter keeps the first write error so Text checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
