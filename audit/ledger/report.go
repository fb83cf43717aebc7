package ledger

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Hour statuses in a Report.
const (
	StatusOK       = "ok"       // settled, every stage agrees
	StatusMismatch = "mismatch" // settled, some stage disagrees
	StatusOpen     = "open"     // not settled yet: shown, never judged
)

// Finding kinds: how a stage differs from the hour's reference stage.
const (
	KindMissing         = "missing"          // the stage recorded nothing this hour
	KindFewer           = "fewer"            // fewer events than the reference
	KindMore            = "more"             // more events (doubles, or extra events)
	KindDifferentEvents = "different_events" // same count, different event ids
)

// Finding is one stage disagreeing with the reference stage of an hour.
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
	// Stages that recorded anything in the period: StageOrder first, then
	// unknown stages by name.
	Stages []string     `json:"stages"`
	Hours  []HourReport `json:"hours"`
	// Settled counts settled hours, Mismatched those where stages
	// disagree, Open the hours not settled yet.
	Settled    int `json:"settled"`
	Mismatched int `json:"mismatched"`
	Open       int `json:"open"`
}

// OK reports whether all stages agree on every settled hour.
func (r *Report) OK() bool { return r.Mismatched == 0 }

// Settled reports whether the hour starting at h has settled at now: it
// ended more than grace ago, so every stage has flushed it.
func Settled(h, now time.Time, grace time.Duration) bool {
	return !now.Before(h.Add(time.Hour + grace))
}

// Compare builds the report of hours (as Store.Read returns them) for
// customer over [from, to), judged at now. In each hour with data, the
// reference is the first stage (in pipeline order) that recorded
// anything; every other stage with data anywhere in the period is
// compared with it. Hours not settled (see Settled) are shown as open and
// never count as mismatched.
func Compare(customer string, hours Hours, from, to, now time.Time, grace time.Duration) *Report {
	r := &Report{Customer: customer, From: from.UTC(), To: to.UTC(), Now: now.UTC(), Grace: grace}
	seen := map[string]bool{}
	var keys []time.Time
	for h, stages := range hours {
		if h.Before(from.UTC().Truncate(time.Hour)) || !h.Before(to) || len(stages) == 0 {
			continue
		}
		keys = append(keys, h)
		for s := range stages {
			seen[s] = true
		}
	}
	r.Stages = orderStages(seen)
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	for _, h := range keys {
		hr := compareHour(h.UTC(), hours[h], r.Stages)
		switch {
		case !Settled(h, now, grace):
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
	return r
}

func orderStages(seen map[string]bool) []string {
	var out, extra []string
	for _, s := range StageOrder {
		if seen[s] {
			out = append(out, s)
		}
	}
	for s := range seen {
		if !slices.Contains(StageOrder, s) {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func compareHour(h time.Time, tallies map[string]Tally, stages []string) HourReport {
	hr := HourReport{Hour: h, Tallies: map[string]Tally{}, Findings: []Finding{}}
	ref := ""
	for _, s := range stages {
		if t, ok := tallies[s]; ok {
			hr.Tallies[s] = t
			if ref == "" {
				ref = s
			}
		}
	}
	rt := tallies[ref]
	for _, s := range stages {
		if s == ref {
			continue
		}
		t, ok := tallies[s]
		f := Finding{Stage: s, Reference: ref, Diff: t.Count - rt.Count}
		switch {
		case !ok:
			f.Kind = KindMissing
			f.Message = fmt.Sprintf("%s: no entries (%s has %d)", s, ref, rt.Count)
		case t.Count < rt.Count:
			f.Kind = KindFewer
			f.Message = fmt.Sprintf("%s: %d fewer than %s", s, -f.Diff, ref)
		case t.Count > rt.Count:
			f.Kind = KindMore
			f.Message = fmt.Sprintf("%s: %d more than %s", s, f.Diff, ref)
		case t.Hash != rt.Hash:
			f.Kind = KindDifferentEvents
			f.Message = fmt.Sprintf("%s: same count as %s, different events", s, ref)
		default:
			continue
		}
		hr.Findings = append(hr.Findings, f)
	}
	return hr
}
