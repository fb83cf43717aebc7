package diff

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/brooksdata/brooks/query"
)

// Options tune Compare.
type Options struct {
	// Tolerances per metric; a metric left out gets DefaultTolerance.
	Tolerances map[string]Tolerance
	// SettleDelay: a bucket is compared only when its end + SettleDelay <=
	// Now; younger buckets are classed unsettled.
	SettleDelay time.Duration
	// Now is the comparison's clock for settling and rule expiry; zero means
	// time.Now().
	Now time.Time
	// Rules are the expected differences, first match wins.
	Rules []Rule
	// SampleCap is the number of samples kept per class; 0 keeps none.
	SampleCap int
	// MinCompared is the fewest compared (settled) cells for a verdict
	// other than inconclusive; values below 1 count as 1.
	MinCompared int
	// LeftName and RightName name the sides in reports; default the
	// Results' names, then "left" and "right".
	LeftName, RightName string
}

// Defaults of DefaultOptions.
const (
	DefaultSettleDelay = 10 * time.Minute
	DefaultSampleCap   = 10
)

// DefaultOptions returns Options with DefaultSettleDelay and
// DefaultSampleCap, no rules, default tolerances and the wall clock.
func DefaultOptions() Options {
	return Options{SettleDelay: DefaultSettleDelay, SampleCap: DefaultSampleCap, MinCompared: DefaultMinCompared}
}

// CompareAnswers normalises two answers to the same query and compares
// them. An answer without a query echo borrows the other's.
func CompareAnswers(left, right *query.Answer, opts Options) (*Report, error) {
	if left == nil || right == nil {
		return nil, fmt.Errorf("compare: need two answers")
	}
	lq, rq := left.Query, right.Query
	if lq == nil {
		lq = rq
	}
	if rq == nil {
		rq = lq
	}
	l, err := Normalize(left, NormalizeOptions{Name: opts.LeftName, Query: lq})
	if err != nil {
		return nil, fmt.Errorf("left: %w", err)
	}
	r, err := Normalize(right, NormalizeOptions{Name: opts.RightName, Query: rq})
	if err != nil {
		return nil, fmt.Errorf("right: %w", err)
	}
	return Compare(l, r, opts)
}

// Compare merge-joins two normalised results of the same query and
// classifies every cell. It fails only when the results answer different
// questions: another customer, interval or time range. It only reads its
// arguments, so concurrent Compares may share Results and Rules.
func Compare(left, right *Result, opts Options) (*Report, error) {
	if err := compatible(left, right); err != nil {
		return nil, err
	}
	c := newComparer(left, right, opts)
	c.run()
	return c.report(), nil
}

func compatible(l, r *Result) error {
	if l.Customer != "" && r.Customer != "" && l.Customer != r.Customer {
		return fmt.Errorf("compare: customers differ: left %q, right %q", l.Customer, r.Customer)
	}
	if l.Interval != r.Interval {
		return fmt.Errorf("compare: intervals differ: left %s, right %s", l.Interval, r.Interval)
	}
	if !l.From.Equal(r.From) || !l.To.Equal(r.To) {
		return fmt.Errorf("compare: time ranges differ: left %s..%s, right %s..%s",
			fmtTime(l.From), fmtTime(l.To), fmtTime(r.From), fmtTime(r.To))
	}
	return nil
}

// queryDiff describes how the two queries differ beyond customer, metrics,
// interval and range — group_by, filters, order_by, limit — one
// "field: left …, right …" per line, or "". go-cmp decides equality (order
// and nil-vs-empty do not count); the text is our own, so it is stable.
func queryDiff(l, r *query.Query) string {
	if l == nil || r == nil {
		return ""
	}
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })}
	var lines []string
	field := func(name string, a, b any) {
		if !cmp.Equal(a, b, opts) {
			lines = append(lines, fmt.Sprintf("%s: left %v, right %v", name, a, b))
		}
	}
	field("group_by", l.GroupBy, r.GroupBy)
	field("filters", l.Filters, r.Filters)
	field("order_by", l.OrderBy, r.OrderBy)
	field("limit", l.Limit, r.Limit)
	return strings.Join(lines, "\n")
}

// comparer holds one comparison: the joint key spaces of both sides and the
// tallies.
type comparer struct {
	left, right *Result
	opts        Options
	now         time.Time
	series      []Key    // union of both sides' series, sorted by ID
	metrics     []string // union of both sides' metrics, sorted
	lS, rS      []int32  // side series index → joint index
	lM, rM      []int32  // side metric index → joint index
	plans       []metricPlan
	settledMax  int64 // buckets starting after this are unsettled
	rules       *ruleMatcher
	tally       [numClasses]int
	byMetric    [][numClasses]int
	samples     [numClasses][]Sample
}

func newComparer(left, right *Result, opts Options) *comparer {
	c := &comparer{left: left, right: right, opts: opts, now: opts.Now}
	if c.now.IsZero() {
		c.now = time.Now()
	}
	c.now = c.now.UTC()
	var lIDs, rIDs []string
	for _, k := range left.Series {
		lIDs = append(lIDs, k.ID)
	}
	for _, k := range right.Series {
		rIDs = append(rIDs, k.ID)
	}
	var pick []int32 // joint series: ≥0 left index, <0 -(right index)-1
	c.lS, c.rS, pick = unionIndex(lIDs, rIDs)
	c.series = make([]Key, len(pick))
	for j, p := range pick {
		if p >= 0 {
			c.series[j] = left.Series[p]
		} else {
			c.series[j] = right.Series[-p-1]
		}
	}
	c.lM, c.rM, pick = unionIndex(left.Metrics, right.Metrics)
	c.metrics = make([]string, len(pick))
	c.plans = make([]metricPlan, len(pick))
	eL, eR := make([]float64, len(pick)), make([]float64, len(pick))
	for i, j := range c.lM {
		eL[j] = left.RelStdErr[i]
	}
	for i, j := range c.rM {
		eR[j] = right.RelStdErr[i]
	}
	for j, p := range pick {
		if p >= 0 {
			c.metrics[j] = left.Metrics[p]
		} else {
			c.metrics[j] = right.Metrics[-p-1]
		}
		c.plans[j] = resolveTolerance(opts.Tolerances, c.metrics[j]).plan(eL[j], eR[j])
	}
	c.byMetric = make([][numClasses]int, len(c.metrics))
	c.settledMax = settledMax(left, c.now, opts.SettleDelay)
	customer := left.Customer
	if customer == "" {
		customer = right.Customer
	}
	c.rules = newRuleMatcher(opts.Rules, c.now, customer, c.series, c.metrics)
	return c
}

// settledMax is the latest bucket start (Unix seconds) whose bucket has
// settled: bucket end + delay <= now. For "total" the bucket ends at To.
func settledMax(r *Result, now time.Time, delay time.Duration) int64 {
	limit := now.Add(-delay)
	if step := query.Step(r.Interval); step > 0 {
		return limit.Add(-step).Unix()
	}
	if r.To.After(limit) {
		return math.MinInt64
	}
	return r.From.Unix()
}

// onlyIn lists the metrics of a that b lacks.
func onlyIn(a, b []string) []string {
	out := []string{}
	for _, m := range a {
		if !slices.Contains(b, m) {
			out = append(out, m)
		}
	}
	return out
}

func sideName(name, fallback string) string {
	if strings.TrimSpace(name) == "" {
		return fallback
	}
	return name
}
