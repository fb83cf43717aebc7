package queryengine

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRequestShapeAndPageSize(t *testing.T) {
	day5m := plan{histogram: "5m", parts: []part{{"5m", ts("2026-11-25T00:00:00Z"), ts("2026-11-25T06:00:00Z")}}}
	twoYears := plan{histogram: "1d", parts: []part{{"1d", ts("2024-11-26T00:00:00Z"), ts("2026-11-26T00:00:00Z")}}}
	tests := []struct {
		name  string
		req   request
		shape shape
		size  int
	}{
		{"total", request{plan: day5m, metrics: []string{"pageviews"}, pageSize: 1000, threshold: 3000}, flat, 1000},
		{"5m window, visitors", request{plan: day5m, withTime: true, metrics: []string{"visitors"}, pageSize: 1000, threshold: 3000}, histogram, 1000},
		{"2y daily, visitors at p=14", request{plan: twoYears, withTime: true, metrics: []string{"pageviews", "visitors"}, pageSize: 1000, threshold: 3000}, histogram, 1000},
		{"2y daily, three distinct at p=14: paged", request{plan: twoYears, withTime: true, metrics: []string{"visitors", "new_visitors", "returning_visitors"}, pageSize: 1000, threshold: 3000}, composite, 682},
		{"2y daily, visitors at p=18: paged", request{plan: twoYears, withTime: true, metrics: []string{"visitors"}, pageSize: 1000, threshold: 40000}, composite, 128},
		{"2y daily, page views only", request{plan: twoYears, withTime: true, metrics: []string{"pageviews"}, pageSize: 1000, threshold: 40000}, histogram, 1000},
		{"group-by at p=18", request{plan: day5m, dims: []string{"url"}, metrics: []string{"visitors"}, pageSize: 1000, threshold: 40000}, composite, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.shape(); got != tt.shape {
				t.Errorf("shape = %v, want %v", got, tt.shape)
			}
			if got := tt.req.size(); got != tt.size {
				t.Errorf("size = %d, want %d", got, tt.size)
			}
			b, err := tt.req.body(nil)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if tt.shape == composite && !strings.Contains(string(b), `"composite":{`) || tt.shape == histogram && !strings.Contains(string(b), `"date_histogram":{"field":"bucket","fixed_interval"`) {
				t.Errorf("body does not match shape %v: %s", tt.shape, b)
			}
		})
	}
}

func TestRequestFilters(t *testing.T) {
	mixed := plan{parts: []part{{"1d", ts("2026-11-01T00:00:00Z"), ts("2026-11-25T00:00:00Z")}, {"5m", ts("2026-11-25T00:00:00Z"), ts("2026-11-25T17:30:00Z")}}}
	single := plan{parts: []part{{"1d", ts("2026-11-01T00:00:00Z"), ts("2026-11-25T00:00:00Z")}}}
	r := request{customer: "acme.example", plan: mixed, metrics: []string{"pageviews"}, threshold: 3000, pageSize: 10,
		filters: map[string][]string{"device": {"mobile"}}, restrict: map[string][]string{"url": {"a", "b"}}}
	b, _ := r.body(nil)
	for _, want := range []string{`{"term":{"customer":"acme.example"}}`, `{"term":{"granularity":"5m"}}`, `{"term":{"granularity":"1d"}}`,
		`"minimum_should_match":1`, `{"terms":{"d_device":["mobile"]}}`, `{"terms":{"d_url":["a","b"]}}`, `"gte":"2026-11-25T00:00:00Z","lt":"2026-11-25T17:30:00Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("mixed body lacks %s:\n%s", want, b)
		}
	}
	r.plan = single
	if b, _ := r.body(nil); strings.Contains(string(b), "granularity") {
		t.Errorf("a single-granularity plan filters on granularity:\n%s", b)
	}
}
