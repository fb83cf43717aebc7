package legacy

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/brooksdata/brooks/query"
)

func TestShaper(t *testing.T) {
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	b0, b1 := from, from.Add(Step5m)
	p1, p2, p3 := "https://acme.example/post/1", "https://acme.example/post/2", "https://acme.example/post/3"
	type row struct {
		post, ref string
		t         time.Time
		n         int64
	}
	rows := []row{
		{p1, "search", b0, 3}, {p1, "social", b0, 2}, {p1, "search", b1, 1},
		{p2, "search", b0, 10},
		{p3, "direct", b1, 4},
	}
	tests := []struct {
		name string
		q    query.Query
		want string // answer series as JSON
	}{
		{"site total per bucket", query.Query{Interval: "5m"},
			`[{"key":{},"points":[{"t":"2026-11-25T10:00:00Z","pageviews":15},{"t":"2026-11-25T10:05:00Z","pageviews":5}]}]`},
		{"by url, top 2", query.Query{Interval: "5m", GroupBy: []string{"url"}, OrderBy: "-pageviews", Limit: 2},
			`[{"key":{"url":"` + p2 + `"},"points":[{"t":"2026-11-25T10:00:00Z","pageviews":10}]},` +
				`{"key":{"url":"` + p1 + `"},"points":[{"t":"2026-11-25T10:00:00Z","pageviews":5},{"t":"2026-11-25T10:05:00Z","pageviews":1}]}]`},
		{"by referrer, total, ascending", query.Query{Interval: "total", GroupBy: []string{"referrer_category"}, OrderBy: "pageviews"},
			`[{"key":{"referrer_category":"social"},"points":[{"t":"2026-11-25T10:00:00Z","pageviews":2}]},` +
				`{"key":{"referrer_category":"direct"},"points":[{"t":"2026-11-25T10:00:00Z","pageviews":4}]},` +
				`{"key":{"referrer_category":"search"},"points":[{"t":"2026-11-25T10:00:00Z","pageviews":14}]}]`},
		{"filtered to search on two posts", query.Query{Interval: "total", Filters: map[string][]string{"url": {p1, p3}, "referrer_category": {"search"}}},
			`[{"key":{},"points":[{"t":"2026-11-25T10:00:00Z","pageviews":4}]}]`},
		{"nothing matches", query.Query{Interval: "5m", Filters: map[string][]string{"url": {"https://acme.example/post/9"}}},
			`[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Customer, q.Metrics, q.From, q.To = "acme.example", []string{"pageviews"}, from, from.Add(time.Hour)
			if err := q.Validate(); err != nil {
				t.Fatal(err)
			}
			p, err := planQuery(&q, from.Add(time.Hour), DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			sh := newShaper(p)
			for _, r := range rows {
				sh.addPageviews(r.post, r.ref, r.t, r.n)
			}
			ans := sh.answer(nil)
			if ans.ServedBy != "legacy" || ans.Approximate != nil {
				t.Errorf("served_by = %q, approximate = %v", ans.ServedBy, ans.Approximate)
			}
			got, _ := json.Marshal(ans.Series)
			if string(got) != tt.want {
				t.Errorf("series =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestShaperVisitors(t *testing.T) {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	q := query.Query{Customer: "acme.example", Metrics: []string{"visitors", "pageviews"}, GroupBy: []string{"url"},
		From: day, To: day.Add(2 * Day), Interval: "1d", OrderBy: "-visitors", Limit: 1}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := planQuery(&q, day.Add(2*Day), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	sh := newShaper(p)
	sh.addPageviews("a", "", day, 10)
	sh.setVisitors("a", day, 7)
	sh.addPageviews("b", "", day, 5)
	sh.setVisitors("b", day, 5)
	sh.addPageviews("b", "", day.Add(Day), 5)
	sh.setVisitors("b", day.Add(Day), 5)
	// Over both days b has 8 distinct visitors (not 5+5), a has 7.
	ans := sh.answer(map[seriesKey]float64{sh.seriesID("a", ""): 7, sh.seriesID("b", ""): 8})
	got, _ := json.Marshal(ans)
	want := `{"served_by":"legacy","query":` + mustJSON(t, &q) + `,"series":[{"key":{"url":"b"},"points":[` +
		`{"t":"2026-11-24T00:00:00Z","pageviews":5,"visitors":5},{"t":"2026-11-25T00:00:00Z","pageviews":5,"visitors":5}]}],` +
		`"approximate":{"visitors":{"relative_std_error":0.0081,"method":"redis-hyperloglog"}}}`
	if string(got) != want {
		t.Errorf("answer =\n%s\nwant\n%s", got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
