package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// Line is one line of an expectations file (see Expectations.WriteFile).
type Line = expectationLine

// ReadExpectations reads and sums expectations files (one per loadgen
// run): cells of the same customer, bucket, URL and referrer category add
// up. Visitor counts are not additive across runs and are not checked.
func ReadExpectations(paths ...string) ([]Line, error) {
	type key struct {
		c   string
		b   time.Time
		u   string
		ref string
	}
	sum := map[key]*Line{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("expectations: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			n++
			var l Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Customer == "" || l.Bucket.IsZero() {
				f.Close()
				return nil, fmt.Errorf("expectations %s: line %d: not an expectation (customer, bucket, url, ...): %v", p, n, err)
			}
			k := key{l.Customer, l.Bucket.UTC(), l.URL, l.RefCategory}
			if cur := sum[k]; cur != nil {
				cur.Pageviews += l.Pageviews
				cur.Pings += l.Pings
				cur.VideoStarts += l.VideoStarts
			} else {
				l.Bucket = l.Bucket.UTC()
				sum[k] = &l
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("expectations %s: %w", p, err)
		}
	}
	out := make([]Line, 0, len(sum))
	for _, l := range sum {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Customer != b.Customer {
			return a.Customer < b.Customer
		}
		if !a.Bucket.Equal(b.Bucket) {
			return a.Bucket.Before(b.Bucket)
		}
		if a.URL != b.URL {
			return a.URL < b.URL
		}
		return a.RefCategory < b.RefCategory
	})
	return out, nil
}

// Asker answers queries; *query.Client is one.
type Asker interface {
	Do(ctx context.Context, q *query.Query) (*query.Answer, error)
}

// Check asks api, per customer of lines, every additive metric it answers
// by url per 5-minute bucket over the expectations' range, and diffs the
// answer with the expectations (left): every cell must be equal. Legacy
// (served_by "legacy") is expected to count post URLs only. The report has
// one shape per customer; its verdict is inconclusive when nothing was
// expected.
func Check(ctx context.Context, api Asker, lines []Line, customers *pixel.Customers) (*diff.MultiReport, error) {
	byCust := map[string][]Line{}
	var custs []string
	for _, l := range lines {
		if byCust[l.Customer] == nil {
			custs = append(custs, l.Customer)
		}
		byCust[l.Customer] = append(byCust[l.Customer], l)
	}
	m := &diff.MultiReport{Left: "expectations", Right: "api", Now: time.Now().UTC()}
	for _, cust := range custs {
		c, err := customers.Get(cust)
		if err != nil {
			return nil, fmt.Errorf("expectations name customer %q: %w", cust, err)
		}
		ls := byCust[cust]
		from, to := ls[0].Bucket, ls[0].Bucket
		for _, l := range ls {
			from, to = minTime(from, l.Bucket), maxTime(to, l.Bucket)
		}
		to = to.Add(5 * time.Minute)
		if m.From.IsZero() || from.Before(m.From) {
			m.From = from
		}
		m.To = maxTime(m.To, to)
		q := &query.Query{Customer: cust, Metrics: []string{query.Pageviews, query.EngagedSeconds, query.VideoStarts},
			GroupBy: []string{query.DimURL}, From: from, To: to, Interval: query.Interval5m}
		got, err := api.Do(ctx, q)
		var ae *query.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity {
			q.Metrics = []string{query.Pageviews} // legacy: page views only
			got, err = api.Do(ctx, q)
		}
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", cust, err)
		}
		if m.Right == "api" && got.ServedBy != "" {
			m.Right = got.ServedBy
		}
		want := expectedAnswer(q, ls, c, got.ServedBy == "legacy")
		got.Query = q
		opts := diff.DefaultOptions()
		opts.SettleDelay, opts.Now = 0, maxTime(m.Now, to)
		opts.LeftName, opts.RightName = "expectations", got.ServedBy
		rep, err := diff.CompareAnswers(want, got, opts)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", cust, err)
		}
		m.Shapes = append(m.Shapes, diff.ShapeResult{Name: cust + ": " + fmt.Sprint(q.Metrics) + " by url per 5m", Report: rep})
	}
	if len(custs) == 1 {
		m.Customer = custs[0]
	}
	diff.Combine(m, 1, 0)
	return m, nil
}

// expectedAnswer is the answer the expectations say q must get.
func expectedAnswer(q *query.Query, lines []Line, c *pixel.Customer, postsOnly bool) *query.Answer {
	type pt struct {
		url string
		t   time.Time
	}
	sum := map[pt]map[string]float64{}
	var order []pt
	for _, l := range lines {
		if postsOnly && !c.IsPost(l.URL) {
			continue
		}
		k := pt{l.URL, l.Bucket}
		v := sum[k]
		if v == nil {
			v = map[string]float64{}
			sum[k] = v
			order = append(order, k)
		}
		for _, metric := range q.Metrics {
			switch metric {
			case query.Pageviews:
				v[metric] += float64(l.Pageviews)
			case query.EngagedSeconds:
				v[metric] += float64(l.Pings * c.HeartbeatSeconds)
			case query.VideoStarts:
				v[metric] += float64(l.VideoStarts)
			}
		}
	}
	series := map[string]*query.Series{}
	a := &query.Answer{ServedBy: "expectations", Query: q}
	for _, k := range order {
		s := series[k.url]
		if s == nil {
			s = &query.Series{Key: map[string]string{query.DimURL: k.url}}
			series[k.url] = s
		}
		s.Points = append(s.Points, query.Point{T: k.t, Values: sum[k]})
	}
	for _, s := range series {
		a.Series = append(a.Series, *s)
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
