package diff

import (
	"testing"

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

func reportRate(b *testing.B, rep *Report) {
	b.ReportMetric(float64(benchBuckets)*float64(b.N)/b.Elapsed().Seconds(), "buckets/s")
	b.ReportMetric(float64(rep.Summary.Cells)*float64(b.N)/b.Elapsed().Seconds(), "cells/s")
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
	for b.Loop() {
		if rep, err = Compare(ln, rn, opts); err != nil {
			b.Fatal(err)
		}
	}
	if rep.Summary.ValueDrift == 0 || rep.Summary.Matched == 0 {
		b.Fatalf("unexpected tally %+v", rep.Summary)
	}
	reportRate(b, rep)
}

// BenchmarkCompareAnswers measures what a caller pays: normalising both
// answers and comparing them.
func BenchmarkCompareAnswers(b *testing.B) {
	l, r := benchAnswers()
	opts := testOptions()
	var rep *Report
	var err error
	b.ReportAllocs()
	for b.Loop() {
		if rep, err = CompareAnswers(l, r, opts); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, rep)
}

// BenchmarkNormalize measures normalising one answer.
func BenchmarkNormalize(b *testing.B) {
	l, _ := benchAnswers()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize(l, NormalizeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchBuckets)*float64(b.N)/b.Elapsed().Seconds(), "buckets/s")
}
