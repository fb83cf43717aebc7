package ledger

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// The reference each stage is compared with, and the comparison of one
// hour; CompareWith (report.go) puts the hours together.

// archiveComplete reports whether the archive holds every record the
// collector acknowledged in the hour (same count and hash): then the
// truth recomputed from it is complete, whatever the clock says.
func archiveComplete(tallies map[string]Tally) bool {
	a, aok := tallies[StageArchive]
	c, cok := tallies[StageCollector]
	return aok && cok && a == c
}

func onlyNotClosed(fs []Finding) bool {
	for _, f := range fs {
		if f.Kind != KindNotClosed {
			return false
		}
	}
	return true
}

// empty reports whether no stage has an event in an hour: no tallies, or
// only zero-count ones. The nextgen engine writes zero-count rows for the
// hours and customers around its records (so that a replay of a batch
// clears what a longer, crashed write of it held); where nobody has events
// they say nothing and the hour is left out. A zero-count row in an hour
// where other stages have events is compared like any tally: 0 fewer.
func empty(tallies map[string]Tally) bool {
	for _, t := range tallies {
		if t.Count != 0 {
			return false
		}
	}
	return true
}

// transport reports whether stage sees every record sent (retries too).
func transport(stage string) bool { return stage == StageCollector || stage == StageArchive }

func truthStage(stage string) bool { return stage == StageTruth || stage == StageTruthLegacy }

func orderStages(seen map[string]bool) []string {
	var out, extra []string
	truthDone := false
	for _, s := range StageOrder {
		if !transport(s) && !truthDone {
			truthDone = true
			if seen[StageTruth] {
				out = append(out, StageTruth)
			}
		}
		if s == StageLegacy && seen[StageTruthLegacy] {
			out = append(out, StageTruthLegacy)
		}
		if seen[s] {
			out = append(out, s)
		}
	}
	for s := range seen {
		if !slices.Contains(StageOrder, s) && !truthStage(s) {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// reference returns the stage s is compared with in an hour, "" for none.
func reference(s string, tallies map[string]Tally, stages []string, inPeriod map[string]bool) string {
	firstTransport := ""
	for _, st := range stages {
		if _, ok := tallies[st]; ok && transport(st) {
			firstTransport = st
			break
		}
	}
	switch {
	case truthStage(s):
		return ""
	case s == StageLegacy:
		if inPeriod[StageTruthLegacy] {
			return StageTruthLegacy
		}
		return ""
	case transport(s):
		if s == firstTransport {
			return ""
		}
		return firstTransport
	case inPeriod[StageTruth]:
		return StageTruth
	}
	return firstTransport
}

// compareHour compares each stage of an hour with its reference;
// notClosed(stage) says whether a shortfall of stage may still fill.
func compareHour(h time.Time, tallies map[string]Tally, stages []string, inPeriod map[string]bool, notClosed func(string) bool) HourReport {
	hr := HourReport{Hour: h, Tallies: map[string]Tally{}, Findings: []Finding{}}
	for _, s := range stages {
		if t, ok := tallies[s]; ok {
			hr.Tallies[s] = t
		}
	}
	for _, s := range stages {
		ref := reference(s, tallies, stages, inPeriod)
		if ref == "" {
			continue
		}
		t, ok := tallies[s]
		rt, rok := tallies[ref]
		if !ok && (!rok || rt.Count == 0) { // nothing against nothing (a zero-count row)
			continue
		}
		f := Finding{Stage: s, Reference: ref, Diff: t.Count - rt.Count}
		switch {
		case truthStage(ref) && t != rt && notClosed(StageArchive) && !archiveComplete(tallies):
			// The truth comes from archive parts that may still be open.
			f.Kind = KindNotClosed
			f.Message = fmt.Sprintf("%s: %+d against %s, archive not closed yet", s, f.Diff, ref)
		case (!ok || t.Count < rt.Count) && notClosed(s):
			f.Kind = KindNotClosed
			f.Message = fmt.Sprintf("%s: %d behind %s, not closed yet", s, -f.Diff, ref)
		case !ok:
			f.Kind = KindMissing
			f.Message = fmt.Sprintf("%s: no entries (%s has %d)", s, ref, rt.Count)
		case t.Count < rt.Count:
			f.Kind = KindFewer
			f.Message = fmt.Sprintf("%s: %d fewer than %s", s, -f.Diff, ref)
		case t.Count > rt.Count && truthStage(ref):
			f.Kind = KindCountedTwice
			f.Message = fmt.Sprintf("%s: %d more than %s (counted twice: retried or re-read events)", s, f.Diff, ref)
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
