package replay

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/query"
)

// Verdicts of a cell (bucket, key, metric).
const (
	BothRight    = "both right"
	LegacyWrong  = "legacy wrong"
	NextgenWrong = "nextgen wrong"
	BothWrong    = "both wrong"
	Unsettled    = "unsettled"
)

// Verdicts lists them in report order.
var Verdicts = []string{BothRight, LegacyWrong, NextgenWrong, BothWrong, Unsettled}

// Status of one system on one cell.
const (
	Right        = "right"
	Wrong        = "wrong"
	NotSettled   = "unsettled"
	OutsideView  = "" // the system promises nothing about the cell
	systemLegacy = "legacy"
	systemNext   = "nextgen"
)

// CellVerdict is the judgement of one cell: the truth (nextgen's view:
// everything), legacy's projection of it, both systems' values and
// statuses, and the verdict. A nil value means the system was not asked
// about the cell or promises nothing about it.
type CellVerdict struct {
	Interval      string            `json:"interval"`
	Bucket        time.Time         `json:"bucket"`
	Key           map[string]string `json:"key"`
	Metric        string            `json:"metric"`
	Verdict       string            `json:"verdict"`
	Truth         float64           `json:"truth"`
	LegacyTruth   *float64          `json:"legacy_truth"`
	Legacy        *float64          `json:"legacy"`
	Nextgen       *float64          `json:"nextgen"`
	LegacyStatus  string            `json:"legacy_status,omitempty"`
	NextgenStatus string            `json:"nextgen_status,omitempty"`
	LegacyClass   string            `json:"legacy_class,omitempty"`
	NextgenClass  string            `json:"nextgen_class,omitempty"`
	Reason        string            `json:"reason,omitempty"`
}

// judge collects the comparisons of every question into cell verdicts.
type judge struct {
	truth  *Truth
	opts   diff.Options
	cells  map[string]*CellVerdict
	failed []failedQuestion
	asked  []Question
	isPost func(string) bool
	// legacyTolerances replace opts.Tolerances for legacy's answers.
	legacyTolerances map[string]diff.Tolerance
}

type failedQuestion struct {
	q   Question
	err string
}

func newJudge(tr *Truth, opts diff.Options, isPost func(string) bool) *judge {
	opts.SampleCap = math.MaxInt32
	return &judge{truth: tr, opts: opts, cells: map[string]*CellVerdict{}, isPost: isPost}
}

func cellID(interval string, bucket int64, key map[string]string, metric string) string {
	return fmt.Sprintf("%s|%d|%s|%s", interval, bucket, query.KeyString(key), metric)
}

// add compares sys's answer to q.Query with truth (the projection q.System
// promises) through diff and records every cell either side has.
func (j *judge) add(q Question, truth, sys *query.Answer) error {
	opts := j.opts
	opts.LeftName, opts.RightName = "truth", q.System
	if q.System == systemLegacy && j.legacyTolerances != nil {
		opts.Tolerances = j.legacyTolerances
	}
	rep, err := diff.CompareAnswers(truth, sys, opts)
	if err != nil {
		return fmt.Errorf("compare %s with truth: %w", q.System, err)
	}
	classes := map[string]diff.Class{}
	for _, s := range []struct {
		c diff.Class
		l []diff.Sample
	}{{diff.MissingLeft, rep.Samples.MissingLeft}, {diff.MissingRight, rep.Samples.MissingRight}, {diff.ValueDrift, rep.Samples.ValueDrift},
		{diff.Expected, rep.Samples.Expected}, {diff.WithinTolerance, rep.Samples.WithinTolerance}, {diff.Unsettled, rep.Samples.Unsettled}} {
		for _, smp := range s.l {
			classes[cellID(q.Query.Interval, smp.Bucket.Unix(), smp.Series, smp.Metric)] = s.c
		}
	}
	tn, err := diff.Normalize(truth, diff.NormalizeOptions{Name: "truth", Query: &q.Query})
	if err != nil {
		return fmt.Errorf("normalise truth: %w", err)
	}
	sn, err := diff.Normalize(sys, diff.NormalizeOptions{Name: q.System, Query: &q.Query})
	if err != nil {
		return fmt.Errorf("normalise %s answer: %w", q.System, err)
	}
	j.asked = append(j.asked, q)
	visit := func(r *diff.Result, isTruth bool) {
		for _, c := range r.Cells {
			key, metric := r.Series[c.Series].Dims, r.Metrics[c.Metric]
			id := cellID(q.Query.Interval, c.Bucket, key, metric)
			cv := j.cell(id, q.Query.Interval, c.Bucket, key, metric)
			v := c.Value
			switch {
			case isTruth && q.System == systemLegacy:
				cv.LegacyTruth = &v
			case isTruth:
				cv.Truth = v
			case q.System == systemLegacy:
				cv.Legacy = &v
			default:
				cv.Nextgen = &v
			}
			class, ok := classes[id]
			if !ok {
				class = diff.Matched
			}
			if q.System == systemLegacy {
				cv.LegacyClass = class.String()
			} else {
				cv.NextgenClass = class.String()
			}
		}
	}
	visit(tn, true)
	visit(sn, false)
	return nil
}

// cell returns the verdict of id, made on first use.
func (j *judge) cell(id, interval string, bucket int64, key map[string]string, metric string) *CellVerdict {
	cv := j.cells[id]
	if cv == nil {
		cv = &CellVerdict{Interval: interval, Bucket: time.Unix(bucket, 0).UTC(), Key: maps.Clone(key), Metric: metric}
		j.cells[id] = cv
	}
	return cv
}

// covers reports whether q asked about the cell.
func covers(q *query.Query, cv *CellVerdict) bool {
	if q.Interval != cv.Interval || !slices.Contains(q.Metrics, cv.Metric) || len(q.GroupBy) != len(cv.Key) ||
		cv.Bucket.Before(q.From) || !cv.Bucket.Before(q.To) {
		return false
	}
	for _, d := range q.GroupBy {
		if _, ok := cv.Key[d]; !ok {
			return false
		}
	}
	return true
}

// inLegacyView reports whether legacy promises the cell's key: no url in
// it, or a post URL.
func (j *judge) inLegacyView(cv *CellVerdict) bool {
	u, ok := cv.Key[query.DimURL]
	return !ok || j.isPost(u)
}

// finish decides every cell's statuses and verdict, ordered by interval,
// bucket, key and metric.
func (j *judge) finish() []*CellVerdict {
	now := j.opts.Now.UTC()
	zero := 0.0
	out := make([]*CellVerdict, 0, len(j.cells))
	for _, cv := range j.cells {
		// A legacy question that covers the cell but whose answer and
		// projection both lack it: legacy said 0 and 0 is right.
		if cv.LegacyClass == "" && j.inLegacyView(cv) {
			for _, q := range j.asked {
				if q.System == systemLegacy && covers(&q.Query, cv) {
					cv.Legacy, cv.LegacyTruth, cv.LegacyClass = &zero, &zero, diff.Matched.String()
					break
				}
			}
		}
		if cv.NextgenClass == "" {
			for _, q := range j.asked {
				if q.System == systemNext && covers(&q.Query, cv) {
					cv.Nextgen, cv.NextgenClass = &zero, diff.Matched.String()
					break
				}
			}
		}
		step := query.Step(cv.Interval)
		settled := !cv.Bucket.Add(step).Add(j.opts.SettleDelay).After(now)
		reason := ""
		switch {
		case !settled:
			reason = "bucket not settled"
		case j.truth.DamagedBucket(cv.Bucket, step):
			reason = "truth incomplete: an archive part of this bucket was refused"
		}
		cv.LegacyStatus = status(cv.LegacyClass, reason)
		cv.NextgenStatus = status(cv.NextgenClass, reason)
		for _, f := range j.failed {
			if covers(&f.q.Query, cv) && (f.q.System == systemNext || j.inLegacyView(cv)) {
				if f.q.System == systemLegacy {
					cv.LegacyStatus = NotSettled
				} else {
					cv.NextgenStatus = NotSettled
				}
				reason = f.q.System + " did not answer: " + f.err
			}
		}
		cv.Reason = reason
		cv.Verdict = combine(cv.LegacyStatus, cv.NextgenStatus)
		out = append(out, cv)
	}
	slices.SortFunc(out, func(a, b *CellVerdict) int {
		if a.Interval != b.Interval {
			return -compareStrings(a.Interval, b.Interval) // 5m before 1d
		}
		if c := a.Bucket.Compare(b.Bucket); c != 0 {
			return c
		}
		if c := compareStrings(query.KeyString(a.Key), query.KeyString(b.Key)); c != 0 {
			return c
		}
		return compareStrings(a.Metric, b.Metric)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// status is a system's status on a cell from its diff class.
func status(class, unsettledReason string) string {
	switch {
	case class == "":
		return OutsideView
	case unsettledReason != "" || class == diff.Unsettled.String():
		return NotSettled
	case class == diff.MissingLeft.String() || class == diff.MissingRight.String() || class == diff.ValueDrift.String():
		return Wrong
	}
	return Right
}

// combine is the verdict of a cell from the systems' statuses: a wrong
// system is named whatever the other's state; otherwise any unsettled
// status leaves the cell unsettled; otherwise every system that promises
// the cell is right.
func combine(legacy, nextgen string) string {
	switch {
	case legacy == Wrong && nextgen == Wrong:
		return BothWrong
	case legacy == Wrong:
		return LegacyWrong
	case nextgen == Wrong:
		return NextgenWrong
	case legacy == NotSettled || nextgen == NotSettled, legacy == OutsideView && nextgen == OutsideView:
		return Unsettled
	}
	return BothRight
}
