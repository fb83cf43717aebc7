package diff

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/query"
)

// flatCell is a Cell spelt out for readable expectations.
type flatCell struct {
	Key    string
	T      time.Time
	Metric string
	Value  float64
}

func flatten(r *Result) []flatCell {
	var out []flatCell
	for _, c := range r.Cells {
		out = append(out, flatCell{r.Series[c.Series].String(), time.Unix(c.Bucket, 0).UTC(), r.Metrics[c.Metric], c.Value})
	}
	return out
}

func TestNormalize(t *testing.T) {
	pv, vis := query.Pageviews, query.Visitors
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name     string
		a        *query.Answer
		want     []flatCell
		warnings int
	}{
		{
			name: "url keys normalised and equal keys merged by adding",
			a: ans("legacy", q5m(pv),
				ser("HTTPS://Acme.Example:443/post/1#comments", pt(5, pv, 2)),
				ser("https://acme.example/post/1?utm_source=x", pt(5, pv, 3), pt(10, pv, 1))),
			want: []flatCell{
				{"url=https://acme.example/post/1", at(5), pv, 5},
				{"url=https://acme.example/post/1", at(10), pv, 1},
			},
			warnings: 1,
		},
		{
			name: "times in another zone are converted to UTC",
			a:    ans("x", q5m(pv), ser("https://acme.example/a", query.Point{T: t0.Add(time.Hour).In(cet), Values: map[string]float64{pv: 4}})),
			want: []flatCell{{"url=https://acme.example/a", at(60), pv, 4}},
		},
		{
			name: "explicit zeros are dropped: sparse means zero",
			a:    ans("x", q5m(pv, vis), ser("https://acme.example/a", pt(0, pv, 0, vis, 0), pt(5, pv, 1, vis, 0))),
			want: []flatCell{{"url=https://acme.example/a", at(5), pv, 1}},
		},
		{
			name: "cells ordered by series, bucket, metric whatever the input order",
			a: ans("x", q5m(vis, pv),
				ser("https://acme.example/b", pt(10, vis, 1), pt(5, pv, 2, vis, 1)),
				ser("https://acme.example/a", pt(5, pv, 3))),
			want: []flatCell{
				{"url=https://acme.example/a", at(5), pv, 3},
				{"url=https://acme.example/b", at(5), pv, 2},
				{"url=https://acme.example/b", at(5), vis, 1},
				{"url=https://acme.example/b", at(10), vis, 1},
			},
		},
		{
			name: "referrer_domain lowercased without www",
			a: ans("x", q5m(pv), query.Series{
				Key:    map[string]string{query.DimReferrerDomain: "WWW.Google.com."},
				Points: []query.Point{pt(0, pv, 1)},
			}),
			want: []flatCell{{"referrer_domain=google.com", t0, pv, 1}},
		},
		{
			name: "total: every point is the one bucket at from",
			a: func() *query.Answer {
				q := q5m(pv)
				q.Interval = query.IntervalTotal
				return ans("x", q, ser("https://acme.example/a", pt(0, pv, 7)))
			}(),
			want: []flatCell{{"url=https://acme.example/a", t0, pv, 7}},
		},
		{
			name: "a series of zeros is no series",
			a:    ans("x", q5m(pv), ser("https://acme.example/a", pt(0, pv, 0))),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Normalize(tt.a, NormalizeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, flatten(r)); d != "" {
				t.Errorf("cells (-want +got):\n%s", d)
			}
			if len(r.Warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", r.Warnings, tt.warnings)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	pv := query.Pageviews
	withQ := func(mod func(q *query.Query), ss ...query.Series) *query.Answer {
		q := q5m(pv)
		mod(q)
		return ans("x", q, ss...)
	}
	same := func(*query.Query) {}
	tests := []struct {
		name string
		a    *query.Answer
		want string
	}{
		{"no query", &query.Answer{}, "no query echo"},
		{"bad interval", withQ(func(q *query.Query) { q.Interval = "1h" }), `interval "1h"`},
		{"empty range", withQ(func(q *query.Query) { q.To = q.From }), "is not after"},
		{"unaligned range", withQ(func(q *query.Query) { q.From = q.From.Add(time.Minute) }), "not aligned"},
		{"no metrics", withQ(func(q *query.Query) { q.Metrics = nil }), "no metrics"},
		{"unaligned point", withQ(same, ser("https://a.example/", pt(7, pv, 1))), "point 0: time 2026-11-25T00:07:00Z is not the start of a 5m UTC bucket"},
		{"sub-second point", withQ(same, ser("https://a.example/", query.Point{T: t0.Add(time.Millisecond), Values: map[string]float64{pv: 1}})), "not the start"},
		{"local-midnight day bucket", withQ(func(q *query.Query) { q.Interval = query.Interval1d },
			ser("https://a.example/", query.Point{T: time.Date(2026, 11, 26, 0, 0, 0, 0, time.FixedZone("CET", 3600)), Values: map[string]float64{pv: 1}})),
			"time 2026-11-25T23:00:00Z is not the start of a 1d UTC bucket"},
		{"point before range", withQ(same, ser("https://a.example/", pt(-5, pv, 1))), "outside the query range"},
		{"point at to", withQ(same, ser("https://a.example/", pt(24*60, pv, 1))), "outside the query range"},
		{"metric not asked", withQ(same, ser("https://a.example/", pt(0, "visitors", 1))), `metric "visitors" is not among`},
		{"NaN", withQ(same, ser("https://a.example/", query.Point{T: t0, Values: map[string]float64{pv: math.NaN()}})), "not a finite number"},
		{"two points in one bucket", withQ(same, ser("https://a.example/", pt(0, pv, 1), pt(0, pv, 2))), "two points at 2026-11-25T00:00:00Z"},
		{"bad stated error", func() *query.Answer {
			a := withQ(same)
			a.Approximate = map[string]query.Approximation{"visitors": {RelativeStdError: -1}}
			return a
		}(), "approximate.visitors.relative_std_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize(tt.a, NormalizeOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNormalizeBorrowsQuery(t *testing.T) {
	a := &query.Answer{ServedBy: "legacy", Series: []query.Series{ser("https://a.example/", pt(0, query.Pageviews, 1))}}
	r, err := Normalize(a, NormalizeOptions{Query: q5m(query.Pageviews)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "legacy" || r.Interval != "5m" || len(r.Cells) != 1 {
		t.Errorf("got name %q interval %q cells %d", r.Name, r.Interval, len(r.Cells))
	}
}

func TestNormalizeApproximate(t *testing.T) {
	a := ans("legacy", q5m(query.Pageviews, query.Visitors))
	a.Approximate = map[string]query.Approximation{query.Visitors: {RelativeStdError: 0.0081}}
	r, err := Normalize(a, NormalizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]float64{0, 0.0081}, r.RelStdErr); d != "" {
		t.Errorf("RelStdErr (-want +got):\n%s", d)
	}
}
