package ledger

import (
	"fmt"
	"sort"
	"time"

	"github.com/brooksdata/brooks/diff"
)

// Hour statuses in a Report.
const (
	StatusOK       = "ok"       // settled, every stage agrees with its reference
	StatusMismatch = "mismatch" // settled, some stage disagrees
	StatusOpen     = "open"     // not closed yet: shown, never judged
)

// Reference stages the ledger command derives from the archive files (see
// archive.Truth); no component records them.
const (
	// StageTruth: the distinct event ids of the archived records, each in
	// the hour of its first record. What a deduplicating stage should count.
	StageTruth = "truth"
	// StageTruthLegacy: the same for legacy's subset, post page views.
	StageTruthLegacy = "truth_legacy"
)

// Finding kinds: how a stage differs from its reference in an hour.
const (
	KindMissing         = "missing"          // the stage recorded nothing this hour
	KindFewer           = "fewer"            // fewer events than the reference: lost
	KindMore            = "more"             // more events than a transport reference (extra records)
	KindCountedTwice    = "counted_twice"    // a counting stage counted more than the truth: double counts
	KindDifferentEvents = "different_events" // same count, different event ids
	KindNotClosed       = "not_closed"       // fewer or missing, but the hour or the stage is not closed yet
)

// Finding is one stage disagreeing with its reference in an hour.
type Finding struct {
	Stage     string `json:"stage"`
	Reference string `json:"reference"`
	Kind      string `json:"kind"`
	// Diff is the stage's count minus the reference's.
	Diff    int64  `json:"diff"`
	Message string `json:"message"`
}

// HourReport is one hour of a Report.
type HourReport struct {
	Hour     time.Time        `json:"hour"`
	Status   string           `json:"status"`
	Tallies  map[string]Tally `json:"tallies"`
	Findings []Finding        `json:"findings"`
}

// Report compares every stage's tally, hour by hour, for one customer.
type Report struct {
	Customer string        `json:"customer"`
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Now      time.Time     `json:"now"`
	Grace    time.Duration `json:"-"`
	// Stages that recorded anything in the period: StageOrder first (with
	// the truth references before the stages compared with them), then
	// unknown stages by name.
	Stages []string     `json:"stages"`
	Hours  []HourReport `json:"hours"`
	// Settled counts settled hours, Mismatched those where stages
	// disagree, Open the hours not closed yet.
	Settled    int `json:"settled"`
	Mismatched int `json:"mismatched"`
	Open       int `json:"open"`
	// Verdict: mismatch when a settled hour disagrees, inconclusive when
	// fewer than MinSettled hours settled (no evidence is not a pass),
	// match otherwise. Reason says why it is inconclusive.
	Verdict    diff.Verdict `json:"verdict"`
	Reason     string       `json:"reason,omitempty"`
	MinSettled int          `json:"min_settled"`
	// Notes say how stages were compared (which reference, what was not
	// compared and why).
	Notes []string `json:"notes"`
}

// OK reports whether the verdict is match.
func (r *Report) OK() bool { return r.Verdict == diff.VerdictMatch }

// Settled reports whether the hour starting at h has settled at now: it
// ended more than grace ago, so every stage has flushed it.
func Settled(h, now time.Time, grace time.Duration) bool {
	return !now.Before(h.Add(time.Hour + grace))
}

// CompareOptions say what to compare and when.
type CompareOptions struct {
	Customer string
	From, To time.Time
	// Now is the report's clock: hours that ended Grace before it are
	// judged. Wall is the real one (zero: Now): a stage's shortfall in an
	// hour that has not closed by the earlier of the two clocks is
	// not_closed and leaves the hour open, never loss: a clock set ahead
	// cannot close a part the archiver still has open.
	Now, Wall time.Time
	// Grace: an hour settles this long after it ends.
	Grace time.Duration
	// Lags are stages' extra flush lags beyond Grace: such a stage's
	// shortfall is not_closed until the hour ended Grace+lag ago.
	Lags map[string]time.Duration
	// MinSettled is the fewest settled hours for a verdict other than
	// inconclusive (at least 1).
	MinSettled int
}

// Compare builds the report of hours for customer over [from, to), judged
// at now, with grace and at least one settled hour; see CompareWith.
func Compare(customer string, hours Hours, from, to, now time.Time, grace time.Duration) *Report {
	return CompareWith(hours, CompareOptions{Customer: customer, From: from, To: to, Now: now, Grace: grace, MinSettled: 1})
}

// CompareWith builds the report of hours (as Store.Read returns them,
// plus truth references). Each stage is compared with its reference:
//
//   - transport stages (collector, archive), which see every record a
//     tracker sent, retries included: with the first of them that has
//     data in the hour;
//   - legacy, which counts only post page views: with StageTruthLegacy
//     when present, else not at all (a note says so);
//   - other counting stages (nextgen's raw store and rollups, unknown
//     stages): with StageTruth when present, else like transport stages.
//
// A counting stage above the truth counted events twice (KindCountedTwice).
// Hours not closed are open and never judged; a shortfall there is
// not_closed, not lost.
func CompareWith(hours Hours, o CompareOptions) *Report {
	from, to := o.From.UTC(), o.To.UTC()
	r := &Report{Customer: o.Customer, From: from, To: to, Now: o.Now.UTC(), Grace: o.Grace, MinSettled: max(o.MinSettled, 1), Notes: []string{}}
	wall := o.Now
	if !o.Wall.IsZero() && o.Wall.Before(wall) {
		wall = o.Wall
	}
	seen := map[string]bool{}
	var keys []time.Time
	for h, stages := range hours {
		if h.Before(from.Truncate(time.Hour)) || !h.Before(to) || empty(stages) {
			continue
		}
		keys = append(keys, h)
		for s := range stages {
			seen[s] = true
		}
	}
	r.Stages = orderStages(seen)
	if seen[StageLegacy] && !seen[StageTruthLegacy] {
		r.Notes = append(r.Notes, "legacy counts only post page views and has no truth_legacy reference (archive files) for this period: shown, not compared")
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	for _, h := range keys {
		open := !Settled(h, o.Now, o.Grace)
		hr := compareHour(h.UTC(), hours[h], r.Stages, seen, func(stage string) bool {
			return open || wall.Before(h.Add(time.Hour+o.Grace+o.Lags[stage]))
		})
		switch {
		case open || (onlyNotClosed(hr.Findings) && len(hr.Findings) > 0):
			hr.Status = StatusOpen
			r.Open++
		case len(hr.Findings) > 0:
			hr.Status = StatusMismatch
			r.Settled++
			r.Mismatched++
		default:
			hr.Status = StatusOK
			r.Settled++
		}
		r.Hours = append(r.Hours, hr)
	}
	r.Verdict = diff.Judge(r.Settled, r.Mismatched, r.MinSettled)
	if r.Verdict == diff.VerdictInconclusive {
		span := fmt.Sprintf("%s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
		switch {
		case len(r.Hours) == 0:
			r.Reason = fmt.Sprintf("no ledger entries for %s from %s: is it sending traffic, and do the components record the ledger (--ledger)?", o.Customer, span)
		case r.Settled == 0:
			r.Reason = fmt.Sprintf("no settled hours (%d not closed yet): choose a period that ended more than %s ago", r.Open, o.Grace)
		default:
			r.Reason = fmt.Sprintf("%d settled hours, fewer than the minimum %d: choose a longer period that ended more than %s ago", r.Settled, r.MinSettled, o.Grace)
		}
	}
	return r
}
