package queryengine

import (
	"math"
	"testing"

	"github.com/brooksdata/brooks/query"
)

func TestPrecisionFromThreshold(t *testing.T) {
	tests := []struct {
		threshold int64
		want      int
	}{
		{1, 4}, {100, 10}, {3000, 14}, {PrecisionThreshold, hllPrecision}, {1 << 30, 18},
	}
	for _, tt := range tests {
		if got := precisionFromThreshold(tt.threshold); got != tt.want {
			t.Errorf("precisionFromThreshold(%d) = %d, want %d", tt.threshold, got, tt.want)
		}
	}
	// Linear counting holds up to 3/4 of 2^p/4 hashes: at least the threshold.
	if lc := int(float64(int(1)<<hllPrecision/4) * 0.75); lc < PrecisionThreshold {
		t.Errorf("linear counting limit %d below threshold %d", lc, PrecisionThreshold)
	}
}

func TestRelativeStdError(t *testing.T) {
	tests := []struct {
		n    float64
		want float64
	}{
		{0, 0.000122}, {1000, 0.000122}, {PrecisionThreshold, 0.000122}, {PrecisionThreshold + 1, 0.00203125}, {1e7, 0.00203125},
	}
	for _, tt := range tests {
		if got := RelativeStdError(tt.n); math.Abs(got-tt.want) > 0.000001 {
			t.Errorf("RelativeStdError(%v) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestApproximations(t *testing.T) {
	pt := func(v map[string]float64) query.Point { return query.Point{Values: v} }
	small := []query.Series{{Points: []query.Point{pt(map[string]float64{"visitors": 10, "pageviews": 90000})}}}
	big := []query.Series{{Points: []query.Point{pt(map[string]float64{"visitors": 10}), pt(map[string]float64{"visitors": 50000})}}}
	tests := []struct {
		name    string
		metrics []string
		series  []query.Series
		want    map[string]float64
	}{
		{"additive only", []string{"pageviews"}, small, nil},
		{"small distinct", []string{"pageviews", "visitors"}, small, map[string]float64{"visitors": 0.000123}},
		{"big distinct", []string{"visitors", "new_visitors"}, big, map[string]float64{"visitors": 0.00204, "new_visitors": 0.000123}},
		{"no series", []string{"visitors"}, nil, map[string]float64{"visitors": 0.000123}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := approximations(tt.metrics, tt.series)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for m, w := range tt.want {
				if got[m].RelativeStdError != w || got[m].Method == "" {
					t.Errorf("%s: got %+v, want %v", m, got[m], w)
				}
			}
		})
	}
}

func TestTolerance(t *testing.T) {
	tests := []struct{ n, want float64 }{{0, 1}, {1000, 2}, {40000, 21}, {100000, 814}}
	for _, tt := range tests {
		if got := Tolerance(tt.n); got != tt.want {
			t.Errorf("Tolerance(%v) = %v, want %v", tt.n, got, tt.want)
		}
	}
}
