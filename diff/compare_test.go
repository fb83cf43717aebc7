package diff

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/query"
)

func TestCompareClasses(t *testing.T) {
	pv, vis := query.Pageviews, query.Visitors
	post := "https://acme.example/post/1"
	page := "https://acme.example/about"
	hll := map[string]query.Approximation{vis: {RelativeStdError: 0.01}}
	withApprox := func(a *query.Answer, ap map[string]query.Approximation) *query.Answer {
		a.Approximate = ap
		return a
	}
	legacyPosts := Rule{ID: "legacy-posts-only", Reason: "legacy tracks post URLs only", Effect: EffectLeftMissing,
		Scope: Scope{URLExclude: regexp.MustCompile(`^https://acme\.example/post/`)}}
	tests := []struct {
		name       string
		left       *query.Answer
		right      *query.Answer
		opts       func(*Options)
		want       map[string]int
		wantSample Sample // first sample of the first non-matched class, when set
	}{
		{
			name:  "equal values match",
			left:  ans("l", q5m(pv), ser(post, pt(0, pv, 3), pt(5, pv, 4))),
			right: ans("r", q5m(pv), ser(post, pt(0, pv, 3), pt(5, pv, 4))),
			want:  map[string]int{"matched": 2},
		},
		{
			name:  "absent bucket vs explicit zero is no difference",
			left:  ans("l", q5m(pv), ser(post, pt(0, pv, 0))),
			right: ans("r", q5m(pv)),
			want:  map[string]int{},
		},
		{
			name:       "missing_left: left lacks a bucket right has",
			left:       ans("l", q5m(pv), ser(post, pt(0, pv, 3))),
			right:      ans("r", q5m(pv), ser(post, pt(0, pv, 3), pt(5, pv, 2))),
			want:       map[string]int{"matched": 1, "missing_left": 1},
			wantSample: Sample{Series: map[string]string{"url": post}, Bucket: t0.Add(5 * time.Minute), Metric: pv, Left: 0, Right: 2, Delta: 2},
		},
		{
			name:       "missing_right: right lacks a whole series",
			left:       ans("l", q5m(pv), ser(post, pt(0, pv, 3)), ser(page, pt(0, pv, 1))),
			right:      ans("r", q5m(pv), ser(post, pt(0, pv, 3))),
			want:       map[string]int{"matched": 1, "missing_right": 1},
			wantSample: Sample{Series: map[string]string{"url": page}, Bucket: t0, Metric: pv, Left: 1, Right: 0, Delta: -1},
		},
		{
			name:       "value_drift: counts are exact",
			left:       ans("l", q5m(pv), ser(post, pt(0, pv, 100))),
			right:      ans("r", q5m(pv), ser(post, pt(0, pv, 101))),
			want:       map[string]int{"value_drift": 1},
			wantSample: Sample{Series: map[string]string{"url": post}, Bucket: t0, Metric: pv, Left: 100, Right: 101, Delta: 1},
		},
		{
			name:  "within_tolerance: stated HLL error, 3 standard errors",
			left:  withApprox(ans("l", q5m(vis), ser(post, pt(0, vis, 1000))), hll),
			right: ans("r", q5m(vis), ser(post, pt(0, vis, 1025))), // 3 × 0.01 × 1025 = 30.75
			want:  map[string]int{"within_tolerance": 1},
		},
		{
			name:       "value_drift: beyond the stated HLL error",
			left:       withApprox(ans("l", q5m(vis), ser(post, pt(0, vis, 1000))), hll),
			right:      ans("r", q5m(vis), ser(post, pt(0, vis, 1040))),
			want:       map[string]int{"value_drift": 1},
			wantSample: Sample{Series: map[string]string{"url": post}, Bucket: t0, Metric: vis, Left: 1000, Right: 1040, Delta: 40, Allowed: 31.2},
		},
		{
			name:  "within_tolerance: configured absolute margin",
			left:  ans("l", q5m(pv), ser(post, pt(0, pv, 10))),
			right: ans("r", q5m(pv), ser(post, pt(0, pv, 12))),
			opts:  func(o *Options) { o.Tolerances = map[string]Tolerance{pv: {Absolute: 2}} },
			want:  map[string]int{"within_tolerance": 1},
		},
		{
			name:       "expected: left lacks non-post URLs",
			left:       ans("l", q5m(pv), ser(post, pt(0, pv, 3))),
			right:      ans("r", q5m(pv), ser(post, pt(0, pv, 3)), ser(page, pt(0, pv, 5))),
			opts:       func(o *Options) { o.Rules = []Rule{legacyPosts} },
			want:       map[string]int{"matched": 1, "expected": 1},
			wantSample: Sample{Series: map[string]string{"url": page}, Bucket: t0, Metric: pv, Left: 0, Right: 5, Delta: 5, Rule: "legacy-posts-only"},
		},
		{
			name:  "rule does not excuse a post URL",
			left:  ans("l", q5m(pv)),
			right: ans("r", q5m(pv), ser(post, pt(0, pv, 3))),
			opts:  func(o *Options) { o.Rules = []Rule{legacyPosts} },
			want:  map[string]int{"missing_left": 1},
		},
		{
			name:  "expired rule no longer matches",
			left:  ans("l", q5m(pv)),
			right: ans("r", q5m(pv), ser(page, pt(0, pv, 3))),
			opts: func(o *Options) {
				r := legacyPosts
				r.Expires = o.Now
				o.Rules = []Rule{r}
			},
			want: map[string]int{"missing_left": 1},
		},
		{
			name:  "unsettled: the last buckets are younger than the settle delay",
			left:  ans("l", q5m(pv), ser(post, pt(0, pv, 3), pt(60, pv, 1), pt(65, pv, 9))),
			right: ans("r", q5m(pv), ser(post, pt(0, pv, 3), pt(60, pv, 2), pt(65, pv, 9))),
			// bucket 60 ends at 65, +10m = 75 > now 70: unsettled; bucket 0 settled.
			opts:       func(o *Options) { o.Now = t0.Add(70 * time.Minute) },
			want:       map[string]int{"matched": 1, "unsettled": 2},
			wantSample: Sample{Series: map[string]string{"url": post}, Bucket: t0.Add(60 * time.Minute), Metric: pv, Left: 1, Right: 2, Delta: 1},
		},
		{
			name:  "settled exactly at end + delay",
			left:  ans("l", q5m(pv), ser(post, pt(60, pv, 1))),
			right: ans("r", q5m(pv), ser(post, pt(60, pv, 2))),
			opts:  func(o *Options) { o.Now = t0.Add(75 * time.Minute) },
			want:  map[string]int{"value_drift": 1},
		},
		{
			name:  "a metric only one query has: its cells are missing on the other side",
			left:  ans("l", q5m(pv), ser(post, pt(0, pv, 3))),
			right: ans("r", q5m(pv, vis), ser(post, pt(0, pv, 3, vis, 2))),
			want:  map[string]int{"matched": 1, "missing_left": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			rep := mustCompare(t, tt.left, tt.right, opts)
			if d := cmp.Diff(tt.want, counts(rep)); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
			if tt.wantSample.Metric != "" {
				got := firstSample(rep)
				if d := cmp.Diff(tt.wantSample, got, cmp.Comparer(approxEqual)); d != "" {
					t.Errorf("sample (-want +got):\n%s", d)
				}
			}
			if rep.Verdict() != Judge(rep.Summary.Compared, rep.Summary.Mismatches, 1) || (rep.Verdict() == VerdictMatch) != rep.OK() {
				t.Errorf("verdict %s inconsistent with %d mismatches", rep.Verdict(), rep.Summary.Mismatches)
			}
		})
	}
}

func approxEqual(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func firstSample(rep *Report) Sample {
	for _, s := range [][]Sample{rep.Samples.MissingLeft, rep.Samples.MissingRight, rep.Samples.ValueDrift,
		rep.Samples.Expected, rep.Samples.WithinTolerance, rep.Samples.Unsettled} {
		if len(s) > 0 {
			return s[0]
		}
	}
	return Sample{}
}

func TestCompareOnlyMetricsReported(t *testing.T) {
	rep := mustCompare(t, ans("legacy", q5m(query.Pageviews)), ans("nextgen", q5m(query.Pageviews, query.EngagedSeconds)), testOptions())
	if d := cmp.Diff([]string{"engaged_seconds"}, rep.Right.OnlyMetrics); d != "" {
		t.Errorf("right only metrics (-want +got):\n%s", d)
	}
	if len(rep.Left.OnlyMetrics) != 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), `only right ["engaged_seconds"]`) {
		t.Errorf("left only %v, warnings %q", rep.Left.OnlyMetrics, rep.Warnings)
	}
}

func TestCompareIncompatible(t *testing.T) {
	other := func(mod func(q *query.Query)) *query.Answer {
		q := q5m(query.Pageviews)
		mod(q)
		return ans("r", q)
	}
	tests := []struct {
		name  string
		right *query.Answer
		want  string
	}{
		{"customer", other(func(q *query.Query) { q.Customer = "other.example" }), "customers differ"},
		{"interval", other(func(q *query.Query) { q.Interval = query.Interval1d }), "intervals differ"},
		{"range", other(func(q *query.Query) { q.To = q.To.Add(-time.Hour) }), "time ranges differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompareAnswers(ans("l", q5m(query.Pageviews)), tt.right, testOptions())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCompareQueriesDifferWarning(t *testing.T) {
	tests := []struct {
		name string
		mod  func(q *query.Query)
		want string
	}{
		{"same", func(*query.Query) {}, ""},
		{"group_by order and empty filters do not count", func(q *query.Query) {
			q.GroupBy, q.Filters = []string{query.DimDevice, query.DimURL}, map[string][]string{}
		}, ""},
		{"filters", func(q *query.Query) { q.Filters = map[string][]string{query.DimReferrerCategory: {"search"}} },
			"queries differ: filters: left map[], right map[referrer_category:[search]]"},
		{"top-N", func(q *query.Query) { q.OrderBy, q.Limit = "-pageviews", 10 },
			"queries differ: order_by: left , right -pageviews\nlimit: left 0, right 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lq, rq := q5m(query.Pageviews), q5m(query.Pageviews)
			lq.GroupBy = []string{query.DimURL, query.DimDevice}
			rq.GroupBy = []string{query.DimURL, query.DimDevice}
			tt.mod(rq)
			rep := mustCompare(t, ans("l", lq), ans("r", rq), testOptions())
			var got string
			for _, w := range rep.Warnings {
				if strings.HasPrefix(w, "queries differ") {
					got = w
				}
			}
			if got != tt.want {
				t.Errorf("warning = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompareTotalSettles(t *testing.T) {
	q := q5m(query.Pageviews)
	q.Interval = query.IntervalTotal
	l, r := ans("l", q, ser("https://a.example/", pt(0, query.Pageviews, 1))), ans("r", q, ser("https://a.example/", pt(0, query.Pageviews, 2)))
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{q.To.Add(9 * time.Minute), "unsettled"},
		{q.To.Add(10 * time.Minute), "value_drift"},
	} {
		opts := testOptions()
		opts.Now = tc.now
		if got := counts(mustCompare(t, l, r, opts)); got[tc.want] != 1 {
			t.Errorf("now %s: counts %v, want one %s", tc.now, got, tc.want)
		}
	}
}

func TestCompareSampleCap(t *testing.T) {
	l := realistic("l", 5, 20)
	r := realistic("r", 5, 20)
	for i := range r.Series {
		for j := range r.Series[i].Points {
			r.Series[i].Points[j].Values[query.Pageviews]++
		}
	}
	opts := testOptions()
	opts.SampleCap = 3
	rep := mustCompare(t, l, r, opts)
	if rep.Summary.ValueDrift != rep.Summary.Compared/2 || len(rep.Samples.ValueDrift) != 3 {
		t.Errorf("value_drift %d of %d, samples %d", rep.Summary.ValueDrift, rep.Summary.Compared, len(rep.Samples.ValueDrift))
	}
	if rep.ByMetric[0].Metric != query.Pageviews || rep.ByMetric[0].ValueDrift != rep.Summary.ValueDrift || rep.ByMetric[1].Matched != rep.Summary.Matched {
		t.Errorf("by metric = %+v", rep.ByMetric)
	}
}
