package matrix

import (
	"slices"
	"testing"
	"time"
)

func TestStandard(t *testing.T) {
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		from, to  time.Time
		intervals []string
	}{
		{"whole days", day, day.Add(48 * time.Hour), []string{"5m", "1d", "total"}},
		{"an hour on the 5-minute clock", day.Add(10 * time.Hour), day.Add(11 * time.Hour), []string{"5m", "total"}},
		{"unaligned", day.Add(10*time.Hour + time.Minute), day.Add(11 * time.Hour), []string{"total"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Intervals(tt.from, tt.to); !slices.Equal(got, tt.intervals) {
				t.Fatalf("Intervals = %v, want %v", got, tt.intervals)
			}
			shapes := Standard(tt.from, tt.to)
			if len(shapes) != len(Metrics)*len(GroupBys)*len(tt.intervals) {
				t.Fatalf("%d shapes", len(shapes))
			}
			names := map[string]bool{}
			for _, s := range shapes {
				q := s.Query("acme.example", tt.from, tt.to)
				if err := q.Validate(); err != nil {
					t.Errorf("%s: %v", s.Name(), err)
				}
				if names[s.Name()] {
					t.Errorf("duplicate name %q", s.Name())
				}
				names[s.Name()] = true
			}
		})
	}
	if got := (Shape{Metrics: []string{"pageviews"}, GroupBy: []string{"url", "referrer_category"}, Interval: "5m"}).Name(); got != "pageviews by url, referrer_category per 5m" {
		t.Errorf("Name = %q", got)
	}
}
