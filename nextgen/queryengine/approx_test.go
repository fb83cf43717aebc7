package queryengine

import (
	"math"
	"strings"
	"testing"

	"github.com/brooksdata/brooks/query"
)

func TestPrecision(t *testing.T) {
	tests := []struct{ threshold, want int }{
		{1, 4}, {100, 10}, {DefaultPrecisionThreshold, 14}, {MaxPrecisionThreshold, 18}, {1 << 30, 18},
	}
	for _, tt := range tests {
		if got := Precision(tt.threshold); got != tt.want {
			t.Errorf("Precision(%d) = %d, want %d", tt.threshold, got, tt.want)
		}
		// Linear counting holds 3/4 of 2^p/4 hashes: at least the threshold
		// up to the maximum, so "at most the threshold" is linear counting.
		if lc := (1 << Precision(tt.threshold)) / 4 * 3 / 4; lc < min(tt.threshold, MaxPrecisionThreshold) {
			t.Errorf("threshold %d: linear counting limit %d below it", tt.threshold, lc)
		}
	}
}

func TestRelativeStdError(t *testing.T) {
	tests := []struct {
		n         float64
		threshold int
		want      float64
	}{
		{0, 3000, 0.000122}, {3000, 3000, 0.000122}, {3001, 3000, 0.008125}, {1e7, 3000, 0.008125},
		{40000, 40000, 0.000122}, {40001, 40000, 0.00203125},
	}
	for _, tt := range tests {
		if got := RelativeStdError(tt.n, tt.threshold); math.Abs(got-tt.want) > 0.000001 {
			t.Errorf("RelativeStdError(%v, %d) = %v, want %v", tt.n, tt.threshold, got, tt.want)
		}
	}
}

func TestApproximations(t *testing.T) {
	pt := func(v map[string]float64) query.Point { return query.Point{Values: v} }
	small := []query.Series{{Points: []query.Point{pt(map[string]float64{"visitors": 10, "pageviews": 90000})}}}
	big := []query.Series{{Points: []query.Point{pt(map[string]float64{"visitors": 10}), pt(map[string]float64{"visitors": 5000})}}}
	tests := []struct {
		name      string
		metrics   []string
		series    []query.Series
		threshold int
		want      map[string]float64
		method    string
	}{
		{"additive only", []string{"pageviews"}, small, 3000, nil, ""},
		{"small distinct", []string{"pageviews", "visitors"}, small, 3000, map[string]float64{"visitors": 0.000123}, "p=14, linear counting up to 3072 distinct"},
		{"big distinct", []string{"visitors", "new_visitors"}, big, 3000, map[string]float64{"visitors": 0.00813, "new_visitors": 0.000123}, "p=14"},
		{"big distinct, high threshold", []string{"visitors"}, big, 40000, map[string]float64{"visitors": 0.000123}, "p=18, linear counting up to 49152 distinct"},
		{"no series", []string{"visitors"}, nil, 3000, map[string]float64{"visitors": 0.000123}, "p=14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := approximations(tt.metrics, tt.series, tt.threshold)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for m, w := range tt.want {
				if got[m].RelativeStdError != w || !strings.Contains(got[m].Method, tt.method) {
					t.Errorf("%s: got %+v, want %v (%s)", m, got[m], w, tt.method)
				}
			}
		})
	}
}

func TestTolerance(t *testing.T) {
	tests := []struct{ n, rse, want float64 }{{0, 0.000122, 1}, {1000, 0.000122, 2}, {40000, 0.000122, 21}, {100000, 0.008125, 3251}}
	for _, tt := range tests {
		if got := Tolerance(tt.n, tt.rse); got != tt.want {
			t.Errorf("Tolerance(%v, %v) = %v, want %v", tt.n, tt.rse, got, tt.want)
		}
	}
}
