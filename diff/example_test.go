package diff_test

import (
	"fmt"
	"time"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/query"
)

func ExampleCompareAnswers() {
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	q := &query.Query{Customer: "acme.example", Metrics: []string{"pageviews"}, GroupBy: []string{"url"},
		From: from, To: from.Add(time.Hour), Interval: "5m"}
	point := func(min int, pv float64) query.Point {
		return query.Point{T: from.Add(time.Duration(min) * time.Minute), Values: map[string]float64{"pageviews": pv}}
	}
	legacy := &query.Answer{ServedBy: "legacy", Query: q, Series: []query.Series{
		{Key: map[string]string{"url": "https://acme.example/post/1"}, Points: []query.Point{point(0, 12), point(5, 7)}},
	}}
	nextgen := &query.Answer{ServedBy: "nextgen", Query: q, Series: []query.Series{
		{Key: map[string]string{"url": "https://acme.example/about"}, Points: []query.Point{point(0, 3)}},
		{Key: map[string]string{"url": "https://ACME.example/post/1#top"}, Points: []query.Point{point(0, 12), point(5, 8)}},
	}}
	rules, err := diff.ParseRules([]byte(`
rules:
  - id: legacy-posts-only
    reason: legacy tracks post URLs only
    effect: left_missing
    scope: {url_exclude: '/post/'}
`))
	if err != nil {
		panic(err)
	}
	opts := diff.DefaultOptions()
	opts.Now, opts.Rules = from.Add(2*time.Hour), rules
	rep, err := diff.CompareAnswers(legacy, nextgen, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Verdict(), rep.OK())
	for _, c := range diff.Classes {
		if n := rep.Count(c); n > 0 {
			fmt.Println(c, n)
		}
	}
	s := rep.Samples.ValueDrift[0]
	fmt.Println(s.Series["url"], s.Bucket.Format(time.TimeOnly), s.Metric, s.Left, "→", s.Right)
	fmt.Println(rep.Rules[0].ID, rep.Rules[0].Hits)
	// Output:
	// mismatch false
	// matched 1
	// expected 1
	// value_drift 1
	// https://acme.example/post/1 10:05:00 pageviews 7 → 8
	// legacy-posts-only 1
}
