package diff

import (
	"testing"
	"time"

	"github.com/brooksdata/brooks/query"
)

// benchAnswers are a realistic dashboard pair: 500 URL series × 288
// five-minute buckets (a day) × pageviews and visitors, every bucket present;
// nextgen drifts on 1% of pageviews and moves visitors within HLL error.
func benchAnswers() (legacy, nextgen *query.Answer) {
	const urls, buckets = 500, 288
	legacy = realisticGaps("legacy", urls, buckets, 0)
	nextgen = cloneAnswer(legacy)
	nextgen.ServedBy = "nextgen"
	nextgen.Approximate = nil
	n := 0
	for i := range nextgen.Series {
		for j := range nextgen.Series[i].Points {
			v := nextgen.Series[i].Points[j].Values
			if n%100 == 0 {
				v[query.Pageviews]++
			}
			if n%7 == 0 && v[query.Visitors] > 50 {
				v[query.Visitors]++
			}
			n++
		}
	}
	return legacy, nextgen
}

// buckets is the number of (series, bucket) pairs of benchAnswers.
const benchBuckets = 500 * 288

// reportRate reports buckets and cells per second of wall clock and, where
// the process CPU time is known, buckets per CPU-second (cpu-buckets/s: the
// rate per core, which other load on the machine does not skew; run with
// -cpu 1 so that it is one core's figure).
func reportRate(b *testing.B, cells int, cpu time.Duration) {
	n := float64(b.N)
	b.ReportMetric(benchBuckets*n/b.Elapsed().Seconds(), "buckets/s")
	if cells > 0 {
		b.ReportMetric(float64(cells)*n/b.Elapsed().Seconds(), "cells/s")
	}
	if cpu > 0 {
		b.ReportMetric(benchBuckets*n/cpu.Seconds(), "cpu-buckets/s")
	}
}

// BenchmarkCompare measures the merge-join alone, on normalised results.
func BenchmarkCompare(b *testing.B) {
	l, r := benchAnswers()
	ln, err := Normalize(l, NormalizeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rn, err := Normalize(r, NormalizeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	opts := testOptions()
	var rep *Report
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if rep, err = Compare(ln, rn, opts); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, rep.Summary.Cells, cpuTime()-start)
	if rep.Summary.ValueDrift == 0 || rep.Summary.Matched == 0 {
		b.Fatalf("unexpected tally %+v", rep.Summary)
	}
}

// BenchmarkCompareAnswers measures what a caller pays: normalising both
// answers and comparing them.
func BenchmarkCompareAnswers(b *testing.B) {
	l, r := benchAnswers()
	opts := testOptions()
	var rep *Report
	var err error
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if rep, err = CompareAnswers(l, r, opts); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, rep.Summary.Cells, cpuTime()-start)
}

// BenchmarkNormalize measures normalising one answer.
func BenchmarkNormalize(b *testing.B) {
	l, _ := benchAnswers()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := Normalize(l, NormalizeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, 0, cpuTime()-start)
}
