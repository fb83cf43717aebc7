package compare

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/evidence"
	"github.com/brooksdata/brooks/shadow/matrix"
)

// enumerateCap is how many mismatching cells a comparison lists for open
// mismatch tracking; beyond it, the comparison closes nothing.
const enumerateCap = 5000

// compare makes one comparison and records it.
func (c *Comparer) compare(ctx context.Context, j Job) {
	q := j.Query
	cust := q.Customer
	start := time.Now()
	shape := j.Shape
	if shape == "" {
		shape = matrix.ID(q)
	}
	served := j.ServedBy
	if served != Legacy && served != Nextgen {
		c.m.dropped.WithLabelValues(cust, "bad_job").Inc()
		return
	}
	// The other system answers a top-N without its limit: the served
	// answer's series are compared, not the ranking near the cut-off.
	otherQ := q
	if q.Limit > 0 {
		cp := *q
		cp.Limit = 0
		otherQ = &cp
	}
	answers := map[string]*query.Answer{}
	errs := map[string]error{}
	if j.Body != nil {
		var a query.Answer
		if err := json.Unmarshal(j.Body, &a); err != nil {
			errs[served] = fmt.Errorf("served answer: %w", err)
		} else {
			answers[served] = &a
		}
	}
	var toAsk []string
	for _, sys := range []string{served, other(served)} {
		if answers[sys] == nil && errs[sys] == nil {
			toAsk = append(toAsk, sys)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, sys := range toAsk {
		ask := q
		if sys != served {
			ask = otherQ
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := c.ask(ctx, sys, ask)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[sys] = err
			} else {
				answers[sys] = a
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	rec := &evidence.Comparison{ID: newID(), Customer: cust, At: c.opts.Now().UTC(), Shape: shape, Source: j.Source,
		ServedBy: served, Query: q, Rechecks: j.Rechecks, RuleHits: map[string]int{}}
	for _, sys := range []string{served, other(served)} {
		err := errs[sys]
		if err == nil {
			continue
		}
		var apiErr *query.APIError
		if errors.As(err, &apiErr) && apiErr.Status == 422 {
			// A query the other system cannot answer (legacy: engaged time,
			// devices, ...): nothing to compare, not a failure.
			c.m.skipped.WithLabelValues(cust, "unsupported").Inc()
			return
		}
		if errors.As(err, &apiErr) && apiErr.Status < 500 {
			c.m.skipped.WithLabelValues(cust, "client_error").Inc()
			return
		}
		kind := errKind(err)
		c.m.errors.WithLabelValues(sys, cust, kind).Inc()
		c.log.Warn("comparison failed", "customer", cust, "shape", shape, "system", sys, "kind", kind, "err", err)
		rec.Verdict, rec.Error = evidence.VerdictError, fmt.Sprintf("%s: %v", sys, err)
		c.record(ctx, rec)
		c.m.comparisons.WithLabelValues(cust, served, evidence.VerdictError).Inc()
		return
	}
	if q.Limit > 0 {
		keepServedSeries(answers[other(served)], answers[served])
	}
	legacy, nextgen := answers[Legacy], answers[Nextgen]
	legacy.Query, nextgen.Query = q, q
	rep, err := diff.CompareAnswers(legacy, nextgen, diff.Options{
		Tolerances: c.opts.Tolerances, SettleDelay: c.opts.SettleDelay, Now: c.opts.SettleNow(), Rules: c.opts.Rules,
		SampleCap: enumerateCap, LeftName: Legacy, RightName: Nextgen,
	})
	if err != nil {
		c.m.errors.WithLabelValues("diff", cust, "invalid_answer").Inc()
		rec.Verdict, rec.Error = evidence.VerdictError, "diff: "+err.Error()
		c.record(ctx, rec)
		c.m.comparisons.WithLabelValues(cust, served, evidence.VerdictError).Inc()
		return
	}
	c.fill(rec, rep)
	c.m.comparisons.WithLabelValues(cust, served, rec.Verdict).Inc()
	c.m.compareSeconds.WithLabelValues(cust).Observe(time.Since(start).Seconds())
	for class, n := range classCounts(rep.Summary.Tally) {
		if n > 0 {
			c.m.cells.WithLabelValues(cust, class).Add(float64(n))
		}
	}
	for id, n := range rec.RuleHits {
		c.m.ruleHits.WithLabelValues(id).Add(float64(n))
	}
	if rec.Settled() {
		now := c.opts.Now()
		c.cov.settled(cust, shape, rec.Tally.Mismatches == 0, now)
		c.m.coverage.WithLabelValues(cust).Set(c.cov.ratio(cust, now))
		c.m.matchRate.WithLabelValues(cust).Set(c.cov.matchRate(cust))
	}
	if rep.Summary.Unsettled > 0 {
		c.scheduleRecheck(j, served)
	}
	c.record(ctx, rec)
}

// fill copies a diff report into the evidence record.
func (c *Comparer) fill(rec *evidence.Comparison, rep *diff.Report) {
	t := rep.Summary.Tally
	rec.Tally, rec.SettledBefore = t, rep.SettledBefore
	switch {
	case t.Mismatches > 0:
		rec.Verdict = evidence.VerdictMismatch
	case t.Compared > 0:
		rec.Verdict = evidence.VerdictMatch
	case t.Unsettled > 0:
		rec.Verdict = evidence.VerdictUnsettled
	default:
		rec.Verdict = evidence.VerdictEmpty
	}
	for _, h := range rep.Rules {
		if h.Hits > 0 {
			rec.RuleHits[h.ID] = h.Hits
		}
	}
	for class, samples := range map[string][]diff.Sample{
		"missing_left": rep.Samples.MissingLeft, "missing_right": rep.Samples.MissingRight, "value_drift": rep.Samples.ValueDrift,
	} {
		for _, s := range samples {
			rec.Mismatches = append(rec.Mismatches, evidence.Cell{Series: s.Series, Bucket: s.Bucket, Metric: s.Metric,
				Class: class, Legacy: s.Left, Nextgen: s.Right, Allowed: s.Allowed})
		}
	}
	rec.Complete = len(rec.Mismatches) == t.Mismatches
	capped := func(s []diff.Sample) []diff.Sample { return s[:min(len(s), c.opts.SampleCap)] }
	rec.Samples = diff.Samples{
		MissingLeft: capped(rep.Samples.MissingLeft), MissingRight: capped(rep.Samples.MissingRight),
		ValueDrift: capped(rep.Samples.ValueDrift), Expected: capped(rep.Samples.Expected),
		WithinTolerance: capped(rep.Samples.WithinTolerance), Unsettled: capped(rep.Samples.Unsettled),
	}
}

// ask queries one system, timing it.
func (c *Comparer) ask(ctx context.Context, system string, q *query.Query) (*query.Answer, error) {
	asker := c.opts.Legacy
	if system == Nextgen {
		asker = c.opts.Nextgen
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	start := time.Now()
	a, err := asker.Do(ctx, q)
	c.m.querySeconds.WithLabelValues(system, q.Customer).Observe(time.Since(start).Seconds())
	return a, err
}

// record writes the evidence, retrying with capped backoff and jitter.
func (c *Comparer) record(ctx context.Context, rec *evidence.Comparison) {
	if c.opts.Store == nil {
		return
	}
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := c.opts.Store.Record(ctx, rec)
		if err == nil {
			return
		}
		if attempt >= c.opts.StoreRetries || ctx.Err() != nil {
			c.m.dropped.WithLabelValues(rec.Customer, "store_failed").Inc()
			c.log.Error("evidence not recorded", "customer", rec.Customer, "shape", rec.Shape, "err", err)
			return
		}
		c.m.storeRetries.Inc()
		sleep := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
		case <-time.After(sleep):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// keepServedSeries removes from other the series the served top-N answer
// does not have (keys compared after diff's normalisation).
func keepServedSeries(other, served *query.Answer) {
	keep := map[string]bool{}
	for _, s := range served.Series {
		keep[query.KeyString(diff.NormalizeKey(s.Key))] = true
	}
	out := other.Series[:0]
	for _, s := range other.Series {
		if keep[query.KeyString(diff.NormalizeKey(s.Key))] {
			out = append(out, s)
		}
	}
	other.Series = out
}

func classCounts(t diff.Tally) map[string]int {
	return map[string]int{"matched": t.Matched, "within_tolerance": t.WithinTolerance, "expected": t.Expected,
		"unsettled": t.Unsettled, "missing_left": t.MissingLeft, "missing_right": t.MissingRight, "value_drift": t.ValueDrift}
}

// errKind names a comparison query's failure for metrics.
func errKind(err error) string {
	var apiErr *query.APIError
	var ne net.Error
	switch {
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.Status)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &ne):
		return "network"
	}
	return "other"
}

func newID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405.000") + "-" + hex.EncodeToString(b[:])
}
