package diff

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/brooksdata/brooks/query"
)

// Result is an answer in the normalised form that Compare merge-joins.
//
// Normalisation rules:
//   - Series keys: the url dimension goes through pixel.NormalizeURL
//     (lowercase scheme and host, no default port, no fragment, no tracking
//     parameters, parameters sorted); referrer_domain is lowercased without
//     "www." or a trailing dot; other dimensions are kept as they are. Series
//     whose keys become equal are merged by adding their values (a warning
//     says so: for distinct metrics the sum is an upper bound).
//   - Time: point times are converted to UTC and must be the start of a UTC
//     bucket of the query's interval (5m on the clock, 1d at 00:00 UTC)
//     inside [from, to); for interval "total" every point belongs to the one
//     bucket starting at from. Anything else is an error, never guessed.
//   - Sparse = zero: a cell whose value is 0 is dropped, so an absent bucket
//     and an explicit 0 are the same thing.
//   - Order: Series sorted by Key.ID, Cells by (Series, Bucket, Metric),
//     Metrics by name; no duplicates.
type Result struct {
	Name     string // the side's name in reports
	ServedBy string // the answer's served_by
	Customer string
	Interval string
	From, To time.Time // the query's half-open range, UTC
	// Metrics are the query's metrics, sorted by name.
	Metrics []string
	// RelStdErr is the stated relative standard error per Metrics index;
	// 0 for an exact metric.
	RelStdErr []float64
	Series    []Key  // sorted by ID, unique
	Cells     []Cell // sorted by (Series, Bucket, Metric), unique, non-zero
	Query     *query.Query
	Warnings  []string
}

// Cell is one value of a Result: a series, a bucket and a metric.
type Cell struct {
	Series int32   // index into Result.Series
	Metric int32   // index into Result.Metrics
	Bucket int64   // bucket start, Unix seconds
	Value  float64 // never 0
}

// NormalizeOptions tune Normalize.
type NormalizeOptions struct {
	// Name of the side in reports; default the answer's served_by.
	Name string
	// Query is used when the answer carries no query echo.
	Query *query.Query
}

// maxWarnings caps Result.Warnings; the last one says how many were left out.
const maxWarnings = 20

// Normalize converts an answer to a Result. The error names the series and
// point at fault.
func Normalize(a *query.Answer, opts NormalizeOptions) (*Result, error) {
	if a == nil {
		return nil, errors.New("no answer")
	}
	q := a.Query
	if q == nil {
		q = opts.Query
	}
	if q == nil {
		return nil, errors.New("answer has no query echo (\"query\") and no query was given")
	}
	r := &Result{
		Name: opts.Name, ServedBy: a.ServedBy, Customer: q.Customer, Interval: q.Interval,
		From: q.From.UTC(), To: q.To.UTC(), Query: q,
	}
	if r.Name == "" {
		r.Name = a.ServedBy
	}
	step := query.Step(q.Interval)
	if step == 0 && q.Interval != query.IntervalTotal {
		return nil, fmt.Errorf("query interval %q: want 5m, 1d or total", q.Interval)
	}
	if !r.To.After(r.From) {
		return nil, fmt.Errorf("query range: to %s is not after from %s", fmtTime(r.To), fmtTime(r.From))
	}
	if step > 0 && (!r.From.Truncate(step).Equal(r.From) || !r.To.Truncate(step).Equal(r.To)) {
		return nil, fmt.Errorf("query range %s..%s is not aligned to %s UTC buckets", fmtTime(r.From), fmtTime(r.To), q.Interval)
	}
	r.Metrics = slices.Compact(slices.Sorted(slices.Values(q.Metrics)))
	if len(r.Metrics) == 0 {
		return nil, errors.New("query names no metrics")
	}
	r.RelStdErr = make([]float64, len(r.Metrics))
	for m, ap := range a.Approximate {
		e := ap.RelativeStdError
		if math.IsNaN(e) || math.IsInf(e, 0) || e < 0 {
			return nil, fmt.Errorf("approximate.%s.relative_std_error: %v is not a finite non-negative number", m, e)
		}
		if i := slices.Index(r.Metrics, m); i >= 0 {
			r.RelStdErr[i] = e
		}
	}
	n := &normalizer{r: r, stepSec: int64(step / time.Second), from: r.From.Unix(), to: r.To.Unix()}
	if err := n.series(a.Series); err != nil {
		return nil, err
	}
	return r, nil
}

type normalizer struct {
	r                 *Result
	stepSec, from, to int64
	warnings          int
}

func (n *normalizer) warn(format string, args ...any) {
	n.warnings++
	switch {
	case n.warnings < maxWarnings:
		n.r.Warnings = append(n.r.Warnings, fmt.Sprintf(format, args...))
	case n.warnings == maxWarnings:
		n.r.Warnings = append(n.r.Warnings, "further warnings left out")
	}
}

type srcKey struct {
	key Key
	src int
}

// series builds r.Series and r.Cells from the answer's series.
func (n *normalizer) series(in []query.Series) error {
	keys := make([]srcKey, len(in))
	points := 0
	for i, s := range in {
		dims := NormalizeKey(s.Key)
		keys[i] = srcKey{Key{ID: keyID(dims), Dims: dims}, i}
		points += len(s.Points)
	}
	slices.SortStableFunc(keys, func(a, b srcKey) int { return strings.Compare(a.key.ID, b.key.ID) })
	r := n.r
	r.Cells = make([]Cell, 0, points*len(r.Metrics))
	r.Series = make([]Key, 0, len(keys))
	for g := 0; g < len(keys); {
		end := g + 1
		for end < len(keys) && keys[end].key.ID == keys[g].key.ID {
			end++
		}
		sidx := int32(len(r.Series))
		start := len(r.Cells)
		for _, k := range keys[g:end] {
			if err := n.points(sidx, k.src, in[k.src]); err != nil {
				return err
			}
		}
		if len(r.Cells) == start {
			// A series with only zeros is the same as no series.
			g = end
			continue
		}
		r.Series = append(r.Series, keys[g].key)
		merged, err := n.sortSegment(r.Cells[start:], end-g > 1, keys[g].key)
		if err != nil {
			return err
		}
		r.Cells = r.Cells[:start+merged]
		if end-g > 1 {
			n.warn("series %s: %d series merged after key normalisation; values added (an upper bound for distinct metrics)", keys[g].key, end-g)
		}
		g = end
	}
	return nil
}

// points appends the non-zero cells of one answer series. It looks each
// query metric up rather than ranging over the point's map: no random map
// iteration, and cells come out in metric order.
func (n *normalizer) points(sidx int32, src int, s query.Series) error {
	r := n.r
	for pi, p := range s.Points {
		b, err := n.bucket(p.T)
		if err != nil {
			return fmt.Errorf("series %d (%s): point %d: %w", src, query.KeyString(s.Key), pi, err)
		}
		found := 0
		for m, name := range r.Metrics {
			v, ok := p.Values[name]
			if !ok {
				continue
			}
			found++
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("series %d (%s): point %d: metric %s: %v is not a finite number", src, query.KeyString(s.Key), pi, name, v)
			}
			if v != 0 {
				r.Cells = append(r.Cells, Cell{Series: sidx, Metric: int32(m), Bucket: b, Value: v})
			}
		}
		if found != len(p.Values) {
			for name := range p.Values {
				if !slices.Contains(r.Metrics, name) {
					return fmt.Errorf("series %d (%s): point %d: metric %q is not among the query's metrics (%s)",
						src, query.KeyString(s.Key), pi, name, strings.Join(r.Metrics, ", "))
				}
			}
		}
	}
	return nil
}

// bucket checks a point time and returns its bucket start in Unix seconds.
func (n *normalizer) bucket(t time.Time) (int64, error) {
	sec := t.Unix()
	if sec < n.from || sec >= n.to {
		return 0, fmt.Errorf("time %s is outside the query range %s..%s", fmtTime(t), fmtTime(n.r.From), fmtTime(n.r.To))
	}
	if n.stepSec == 0 {
		return n.from, nil
	}
	if t.Nanosecond() != 0 || sec%n.stepSec != 0 {
		return 0, fmt.Errorf("time %s is not the start of a %s UTC bucket", fmtTime(t), n.r.Interval)
	}
	return sec, nil
}

// sortSegment sorts one series' cells by (bucket, metric) and folds equal
// cells: added when merge is set (merged series), an error otherwise. It
// returns the segment's new length.
func (n *normalizer) sortSegment(seg []Cell, merge bool, key Key) (int, error) {
	if !slices.IsSortedFunc(seg, cellOrder) {
		slices.SortFunc(seg, cellOrder)
	}
	w := 0
	for i := range seg {
		if w > 0 && seg[w-1].Bucket == seg[i].Bucket && seg[w-1].Metric == seg[i].Metric {
			if !merge {
				return 0, fmt.Errorf("series %s: two points at %s", key, fmtTime(time.Unix(seg[i].Bucket, 0)))
			}
			seg[w-1].Value += seg[i].Value
			continue
		}
		seg[w] = seg[i]
		w++
	}
	if merge { // added values cancel to zero only with negative inputs
		w = len(slices.DeleteFunc(seg[:w], func(c Cell) bool { return c.Value == 0 }))
	}
	return w, nil
}

func cellOrder(a, b Cell) int {
	if a.Bucket != b.Bucket {
		if a.Bucket < b.Bucket {
			return -1
		}
		return 1
	}
	return int(a.Metric - b.Metric)
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
