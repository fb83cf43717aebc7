package diff

import (
	"fmt"
	"math"
	"time"
)

// Class is what became of one cell (series, bucket, metric) present on at
// least one side. Cells absent or zero on both sides agree and are not
// counted.
type Class uint8

const (
	Matched         Class = iota // equal values
	WithinTolerance              // different, within the metric's Tolerance
	Expected                     // beyond tolerance, explained by a Rule
	Unsettled                    // bucket not settled yet: not compared
	MissingLeft                  // left is zero/absent, right is not: a mismatch
	MissingRight                 // right is zero/absent, left is not: a mismatch
	ValueDrift                   // both non-zero, beyond tolerance: a mismatch
	numClasses
)

var classNames = [numClasses]string{"matched", "within_tolerance", "expected", "unsettled", "missing_left", "missing_right", "value_drift"}

// Classes lists every class in report order.
var Classes = []Class{Matched, WithinTolerance, Expected, Unsettled, MissingLeft, MissingRight, ValueDrift}

func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// MarshalText writes the class name.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// IsMismatch reports whether the class fails a comparison.
func (c Class) IsMismatch() bool { return c >= MissingLeft && c < numClasses }

// unionIndex merges two sorted, unique string lists. It returns each
// list's index into the union and, per union entry, its source: a left
// index (≥ 0) or -(right index)-1.
func unionIndex(l, r []string) (lIdx, rIdx, pick []int32) {
	lIdx, rIdx = make([]int32, len(l)), make([]int32, len(r))
	pick = make([]int32, 0, max(len(l), len(r)))
	i, j := 0, 0
	for i < len(l) || j < len(r) {
		n := int32(len(pick))
		switch {
		case j == len(r) || (i < len(l) && l[i] < r[j]):
			lIdx[i] = n
			pick = append(pick, int32(i))
			i++
		case i == len(l) || r[j] < l[i]:
			rIdx[j] = n
			pick = append(pick, int32(-j-1))
			j++
		default:
			lIdx[i], rIdx[j] = n, n
			pick = append(pick, int32(i))
			i++
			j++
		}
	}
	return lIdx, rIdx, pick
}

// run is the merge-join over both sides' cells in (series, bucket, metric)
// order. Joint indices keep each side's order because both sides' series
// and metrics are sorted the same way.
func (c *comparer) run() {
	L, R := c.left.Cells, c.right.Cells
	lS, rS, lM, rM := c.lS, c.rS, c.lM, c.rM
	i, j := 0, 0
	for i < len(L) && j < len(R) {
		lc, rc := &L[i], &R[j]
		ls, rs := lS[lc.Series], rS[rc.Series]
		lm, rm := lM[lc.Metric], rM[rc.Metric]
		switch {
		case ls < rs || (ls == rs && (lc.Bucket < rc.Bucket || (lc.Bucket == rc.Bucket && lm < rm))):
			c.cell(ls, lc.Bucket, lm, lc.Value, 0)
			i++
		case ls > rs || lc.Bucket > rc.Bucket || rm < lm:
			c.cell(rs, rc.Bucket, rm, 0, rc.Value)
			j++
		default:
			c.cell(ls, lc.Bucket, lm, lc.Value, rc.Value)
			i++
			j++
		}
	}
	for ; i < len(L); i++ {
		c.cell(lS[L[i].Series], L[i].Bucket, lM[L[i].Metric], L[i].Value, 0)
	}
	for ; j < len(R); j++ {
		c.cell(rS[R[j].Series], R[j].Bucket, rM[R[j].Metric], 0, R[j].Value)
	}
}

// cell classifies one joint cell with left value l and right value r.
func (c *comparer) cell(s int32, bucket int64, m int32, l, r float64) {
	switch {
	case bucket > c.settledMax:
		c.count(Unsettled, s, bucket, m, l, r, 0, -1)
	case l == r:
		c.tally[Matched]++
		c.byMetric[m][Matched]++
	default:
		c.differs(s, bucket, m, l, r)
	}
}

// differs classifies a settled cell whose values differ.
func (c *comparer) differs(s int32, bucket int64, m int32, l, r float64) {
	allowed := c.plans[m].allowed(l, r)
	if math.Abs(l-r) <= allowed {
		c.count(WithinTolerance, s, bucket, m, l, r, allowed, -1)
		return
	}
	if rule := c.rules.match(s, bucket, m, l, r); rule >= 0 {
		c.count(Expected, s, bucket, m, l, r, allowed, rule)
		return
	}
	class := ValueDrift
	switch {
	case l == 0:
		class = MissingLeft
	case r == 0:
		class = MissingRight
	}
	c.count(class, s, bucket, m, l, r, allowed, -1)
}

// count tallies a cell and keeps it as a sample while there is room.
// Unsettled cells are sampled only when their values differ.
func (c *comparer) count(class Class, s int32, bucket int64, m int32, l, r, allowed float64, rule int) {
	c.tally[class]++
	c.byMetric[m][class]++
	if len(c.samples[class]) >= c.opts.SampleCap || (class == Unsettled && l == r) {
		return
	}
	smp := Sample{
		Series: c.series[s].Dims, Bucket: time.Unix(bucket, 0).UTC(), Metric: c.metrics[m],
		Left: l, Right: r, Delta: r - l, Allowed: allowed,
	}
	if rule >= 0 {
		smp.Rule = c.opts.Rules[rule].ID
	}
	c.samples[class] = append(c.samples[class], smp)
}
