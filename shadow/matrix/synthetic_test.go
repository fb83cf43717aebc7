package matrix

import (
	"slices"
	"testing"
	"time"

	"github.com/brooksdata/brooks/query"
)

func TestSynthetic(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 17, 3, 0, time.UTC)
	m := Synthetic()
	if len(m) != 22 {
		t.Errorf("%d shapes, want 22 (pageviews 4 groupings × 4 windows, visitors 2 × 2, 2 top-N)", len(m))
	}
	ids := map[string]bool{}
	for _, s := range m {
		if ids[s.ID] {
			t.Errorf("shape id %s twice", s.ID)
		}
		ids[s.ID] = true
		q := s.At("acme.example", now)
		if err := q.Validate(); err != nil {
			t.Errorf("%s: %v", s.ID, err)
		}
		if ID(q) != s.ID {
			t.Errorf("%s: a query of the shape has id %s", s.ID, ID(q))
		}
		if q.To.Before(now) {
			t.Errorf("%s: window %s..%s ends before now", s.ID, q.From, q.To)
		}
		if slices.Contains(q.Metrics, query.Visitors) && (q.Interval == query.Interval5m || slices.Contains(q.GroupBy, query.DimReferrerCategory)) {
			t.Errorf("%s: legacy has no visitors at 5m or by referrer category", s.ID)
		}
	}
	for _, id := range []string{"pageviews/site/5m/1h", "pageviews/url/5m/24h", "pageviews/referrer_category+url/1d/30d",
		"visitors/url/1d/7d", "pageviews/url/total/24h/top10-pageviews", "pageviews+visitors/url/total/7d/top10-pageviews"} {
		if !ids[id] {
			t.Errorf("matrix lacks %s (has %v)", id, SyntheticIDs())
		}
	}
}

func TestShapeWindows(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 17, 3, 0, time.UTC)
	tests := []struct {
		shape    Shape
		from, to string
	}{
		{Shape{Interval: "5m", Span: time.Hour}, "2026-12-04T09:20:00Z", "2026-12-04T10:20:00Z"},
		{Shape{Interval: "1d", Span: 7 * 24 * time.Hour}, "2026-11-28T00:00:00Z", "2026-12-05T00:00:00Z"},
		{Shape{Interval: "total", Span: 24 * time.Hour}, "2026-12-03T10:20:00Z", "2026-12-04T10:20:00Z"},
		{Shape{Interval: "total", Span: 7 * 24 * time.Hour, WholeDays: true}, "2026-11-28T00:00:00Z", "2026-12-05T00:00:00Z"},
	}
	for _, tt := range tests {
		from, to := tt.shape.Window(now)
		if from.Format(time.RFC3339) != tt.from || to.Format(time.RFC3339) != tt.to {
			t.Errorf("%+v: %s..%s, want %s..%s", tt.shape, from.Format(time.RFC3339), to.Format(time.RFC3339), tt.from, tt.to)
		}
	}
}
