package diff

import (
	"fmt"
	"testing"
	"time"

	"github.com/brooksdata/brooks/query"
)

// t0 is the start of the test day; every test query covers [t0, t0+24h).
var t0 = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// later is a clock at which every test bucket has long settled.
var later = t0.Add(72 * time.Hour)

func q5m(metrics ...string) *query.Query {
	return &query.Query{
		Customer: "acme.example", Metrics: metrics, GroupBy: []string{query.DimURL},
		From: t0, To: t0.Add(24 * time.Hour), Interval: query.Interval5m,
	}
}

// pt is a point at t0 + minute minutes with metric/value pairs.
func pt(minute int, kv ...any) query.Point {
	p := query.Point{T: t0.Add(time.Duration(minute) * time.Minute), Values: map[string]float64{}}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			p.Values[kv[i].(string)] = float64(v)
		case float64:
			p.Values[kv[i].(string)] = v
		default:
			panic(fmt.Sprintf("pt: value %T", v))
		}
	}
	return p
}

func ser(url string, pts ...query.Point) query.Series {
	return query.Series{Key: map[string]string{query.DimURL: url}, Points: pts}
}

func ans(servedBy string, q *query.Query, ss ...query.Series) *query.Answer {
	return &query.Answer{ServedBy: servedBy, Query: q, Series: ss}
}

// testOptions: everything settled, samples kept.
func testOptions() Options {
	return Options{Now: later, SettleDelay: 10 * time.Minute, SampleCap: 10}
}

func mustCompare(t testing.TB, l, r *query.Answer, opts Options) *Report {
	t.Helper()
	rep, err := CompareAnswers(l, r, opts)
	if err != nil {
		t.Fatalf("CompareAnswers: %v", err)
	}
	return rep
}

// counts returns the report's non-zero class counts, for compact asserts.
func counts(rep *Report) map[string]int {
	m := map[string]int{}
	for _, c := range Classes {
		if n := rep.Count(c); n > 0 {
			m[c.String()] = n
		}
	}
	return m
}

// realistic builds an answer of urls URL series × buckets 5-minute buckets ×
// pageviews and visitors, with every third bucket absent (sparse).
func realistic(servedBy string, urls, buckets int) *query.Answer {
	return realisticGaps(servedBy, urls, buckets, 3)
}

// realisticGaps leaves out bucket b of URL u when (u+b)%gap == 0; gap 0
// leaves out none.
func realisticGaps(servedBy string, urls, buckets, gap int) *query.Answer {
	q := q5m(query.Pageviews, query.Visitors)
	a := ans(servedBy, q)
	a.Approximate = map[string]query.Approximation{query.Visitors: {RelativeStdError: HLLStdError(16384)}}
	for u := range urls {
		s := ser(fmt.Sprintf("https://acme.example/post/%d", u))
		for b := range buckets {
			if gap > 0 && (u+b)%gap == 0 {
				continue
			}
			pv := 1 + (u*7+b*13)%50
			s.Points = append(s.Points, pt(5*b, query.Pageviews, pv, query.Visitors, 1+pv/2))
		}
		a.Series = append(a.Series, s)
	}
	return a
}
