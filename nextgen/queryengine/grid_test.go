package queryengine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/query"
)

func TestGridAnswerSeries(t *testing.T) {
	t0, t1 := ts("2026-11-25T10:00:00Z"), ts("2026-11-25T10:05:00Z")
	g := newGrid([]string{"pageviews", "engaged_seconds"})
	g.add(map[string]string{"url": "b"}, t1, map[string]float64{"pageviews": 2})
	g.add(map[string]string{"url": "b"}, t0, map[string]float64{"pageviews": 1, "engaged_seconds": 10})
	g.add(map[string]string{"url": "a"}, t0, map[string]float64{"pageviews": 0, "engaged_seconds": 0}) // only zeros: no series
	g.add(map[string]string{"url": "c"}, t0, map[string]float64{"engaged_seconds": 5})
	g.add(map[string]string{"url": "c"}, t0, map[string]float64{"engaged_seconds": 5}) // a null key read as "": added
	want := []query.Series{
		{Key: map[string]string{"url": "b"}, Points: []query.Point{
			{T: t0, Values: map[string]float64{"pageviews": 1, "engaged_seconds": 10}},
			{T: t1, Values: map[string]float64{"pageviews": 2, "engaged_seconds": 0}},
		}},
		{Key: map[string]string{"url": "c"}, Points: []query.Point{{T: t0, Values: map[string]float64{"pageviews": 0, "engaged_seconds": 10}}}},
	}
	if d := cmp.Diff(want, g.answerSeries(nil, time.Time{})); d != "" {
		t.Errorf("answerSeries (-want +got):\n%s", d)
	}
}

func TestGridRank(t *testing.T) {
	g := newGrid([]string{"pageviews", "visitors"})
	for _, c := range []struct {
		url    string
		pv, vi float64
	}{{"a", 5, 1}, {"b", 9, 3}, {"c", 5, 2}, {"d", 0, 0}, {"e", 0, 4}} {
		g.add(map[string]string{"url": c.url}, time.Time{}, map[string]float64{"pageviews": c.pv, "visitors": c.vi})
	}
	k := func(urls ...string) []string {
		var out []string
		for _, u := range urls {
			out = append(out, "url="+u)
		}
		return out
	}
	tests := []struct {
		order string
		limit int
		want  []string
	}{
		{"-pageviews", 0, k("b", "a", "c", "e")}, // ties by key; d has only zeros
		{"-pageviews", 2, k("b", "a")},
		{"pageviews", 2, k("e", "a")},
		{"-visitors", 3, k("e", "b", "c")},
		{"-pageviews", 10, k("b", "a", "c", "e")},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, g.rank(tt.order, tt.limit)); d != "" {
			t.Errorf("rank(%q, %d) (-want +got):\n%s", tt.order, tt.limit, d)
		}
	}
}

func TestGridRestriction(t *testing.T) {
	g := newGrid([]string{"pageviews"})
	g.add(map[string]string{"url": "a", "device": "mobile"}, time.Time{}, map[string]float64{"pageviews": 1})
	g.add(map[string]string{"url": "b", "device": "mobile"}, time.Time{}, map[string]float64{"pageviews": 1})
	g.add(map[string]string{"url": "b", "device": "desktop"}, time.Time{}, map[string]float64{"pageviews": 1})
	got := g.restriction([]string{"device=mobile|url=b", "device=desktop|url=b"}, []string{"url", "device"})
	want := map[string][]string{"url": {"b"}, "device": {"desktop", "mobile"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("restriction (-want +got):\n%s", d)
	}
}

func TestRankMetrics(t *testing.T) {
	tests := []struct {
		order   string
		metrics []string
		want    []string
	}{
		{"-pageviews", []string{"pageviews", "visitors"}, []string{"pageviews"}},
		{"-visitors", []string{"visitors", "new_visitors"}, []string{"visitors", "pageviews"}},
		{"engaged_seconds", []string{"engaged_seconds", "returning_visitors", "video_starts"}, []string{"engaged_seconds", "pageviews", "video_starts"}},
		{"-new_visitors", []string{"new_visitors"}, []string{"new_visitors"}},
	}
	for _, tt := range tests {
		q := query.Query{OrderBy: tt.order, Metrics: tt.metrics}
		if d := cmp.Diff(tt.want, rankMetrics(&q)); d != "" {
			t.Errorf("rankMetrics(%s, %v) (-want +got):\n%s", tt.order, tt.metrics, d)
		}
	}
}
