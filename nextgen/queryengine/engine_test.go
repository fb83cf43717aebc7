package queryengine_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/enginetest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/queryengine"
	"github.com/brooksdata/brooks/query"
)

func newEngine(t testing.TB, c *esindex.Client, pageSize int) *queryengine.Engine {
	t.Helper()
	o := queryengine.DefaultOptions()
	o.Customers = testenv.Customers(t)
	o.Now = func() time.Time { return enginetest.Now }
	o.PageSize = pageSize
	e, err := queryengine.New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEngineMatchesTruth writes rollups of seeded events to the real
// Elasticsearch and checks every kind of query against the oracle computed
// from the same events: exact for counts and engaged seconds, distinct
// counts within the stated bound. Each query runs with the default page
// size and with pages of 7 buckets, so composite paging is exercised.
//
// The rollups are written twice: with each customer's events in one
// partition, as Kafka keys them ("keyed": queries without group-by and
// filters read the site documents, with exact distinct counts), and spread
// over every partition ("spread": a bucket's site documents are split, so
// those queries fall back to the tuple documents).
func TestEngineMatchesTruth(t *testing.T) {
	customers := testenv.Customers(t)
	events := enginetest.GenEvents(42, 6000, enginetest.Now)
	spread, keyed := enginetest.OpenIndex(t), enginetest.OpenIndex(t)
	enginetest.WriteEvents(t, spread, customers, events, enginetest.Now)
	enginetest.WriteEventsPartitioned(t, keyed, customers, events, enginetest.Now, enginetest.ByCustomer)
	engines := map[string]*queryengine.Engine{
		"spread/default pages": newEngine(t, spread, 1000), "spread/pages of 7": newEngine(t, spread, 7),
		"keyed/default pages": newEngine(t, keyed, 1000),
	}

	all := query.Metrics
	now5 := enginetest.Now.Truncate(5 * time.Minute)
	today := enginetest.Now.Truncate(24 * time.Hour)
	tests := []struct {
		name string
		q    query.Query
	}{
		{"5m per url last 24h", query.Query{Metrics: all, GroupBy: []string{"url"}, From: now5.Add(-24 * time.Hour), To: now5, Interval: "5m"}},
		{"5m no group", query.Query{Metrics: all, From: now5.Add(-24 * time.Hour), To: now5.Add(time.Hour), Interval: "5m"}},
		{"5m week-ago benchmark", query.Query{Metrics: []string{"pageviews", "visitors"}, From: now5.Add(-8 * 24 * time.Hour), To: now5.Add(-7 * 24 * time.Hour), Interval: "5m"}},
		{"5m by referrer category and device", query.Query{Metrics: all, GroupBy: []string{"referrer_category", "device"}, From: today, To: today.Add(24 * time.Hour), Interval: "5m"}},
		{"5m filtered search and social", query.Query{Metrics: all, GroupBy: []string{"url"}, Filters: map[string][]string{"referrer_category": {"social", "search"}}, From: now5.Add(-6 * time.Hour), To: now5, Interval: "5m"}},
		{"1d by referrer category", query.Query{Metrics: all, GroupBy: []string{"referrer_category"}, From: today.AddDate(0, 0, -30), To: today.AddDate(0, 0, 1), Interval: "1d"}},
		{"1d two years", query.Query{Metrics: all, From: today.AddDate(-2, 1, 0), To: today.AddDate(0, 0, 1), Interval: "1d"}},
		{"1d campaign filter on empty", query.Query{Metrics: all, GroupBy: []string{"device"}, Filters: map[string][]string{"campaign": {""}}, From: today.AddDate(0, 0, -12), To: today, Interval: "1d"}},
		{"total whole days by campaign", query.Query{Metrics: all, GroupBy: []string{"campaign"}, From: today.AddDate(0, 0, -30), To: today, Interval: "total"}},
		{"total mixed 30 days to now", query.Query{Metrics: all, GroupBy: []string{"referrer_domain"}, From: today.AddDate(0, 0, -30), To: now5, Interval: "total"}},
		{"total partial days both ends", query.Query{Metrics: all, GroupBy: []string{"device", "campaign"}, From: today.AddDate(0, 0, -3).Add(20 * time.Hour), To: now5, Interval: "total"}},
		{"total within an hour no group", query.Query{Metrics: all, From: now5.Add(-time.Hour), To: now5, Interval: "total"}},
		{"top 3 urls by pageviews 5m", query.Query{Metrics: all, GroupBy: []string{"url"}, From: now5.Add(-24 * time.Hour), To: now5, Interval: "5m", OrderBy: "-pageviews", Limit: 3}},
		{"top 2 urls by visitors 1d", query.Query{Metrics: []string{"visitors", "pageviews"}, GroupBy: []string{"url"}, From: today.AddDate(0, 0, -7), To: today.AddDate(0, 0, 1), Interval: "1d", OrderBy: "-visitors", Limit: 2}},
		{"bottom 4 url x device by engaged seconds total", query.Query{Metrics: []string{"engaged_seconds", "video_starts"}, GroupBy: []string{"url", "device"}, From: today.AddDate(0, 0, -2), To: now5, Interval: "total", OrderBy: "engaged_seconds", Limit: 4}},
		{"ordered without limit", query.Query{Metrics: []string{"returning_visitors"}, GroupBy: []string{"device"}, From: now5.Add(-12 * time.Hour), To: now5, Interval: "5m", OrderBy: "-returning_visitors"}},
		{"filter matching nothing", query.Query{Metrics: all, GroupBy: []string{"url"}, Filters: map[string][]string{"url": {"https://nowhere.example/"}}, From: now5.Add(-time.Hour), To: now5, Interval: "5m"}},
		{"range in the future", query.Query{Metrics: all, From: today.AddDate(1, 0, 0), To: today.AddDate(1, 0, 2), Interval: "1d"}},
	}
	for _, tt := range tests {
		for _, cust := range []string{"acme.example", "globex.example"} {
			q := tt.q
			q.Customer = cust
			want := enginetest.Truth(t, customers, events, q)
			for name, e := range engines {
				t.Run(tt.name+"/"+cust+"/"+name, func(t *testing.T) {
					got, err := e.Execute(testenv.Context(t, time.Minute), q)
					if err != nil {
						t.Fatal(err)
					}
					enginetest.SameAnswer(t, want, got, q)
					// Distinct counts are exact exactly when site documents
					// could answer: keyed rollups, no group-by or filter, a
					// series.
					siteExact := strings.HasPrefix(name, "keyed/") && len(q.GroupBy) == 0 && len(q.Filters) == 0 && q.Interval != query.IntervalTotal
					if _, approx := got.Approximate[query.Visitors]; slices.Contains(q.Metrics, query.Visitors) && len(got.Series) > 0 && approx == siteExact {
						t.Errorf("visitors approximate = %v, want %v (site documents answer: %v)", approx, !siteExact, siteExact)
					}
				})
			}
		}
	}
	// The table must not pass vacuously: the main queries have data.
	if a := enginetest.Truth(t, customers, events, query.Query{Customer: "acme.example", Metrics: all, GroupBy: []string{"url"}, From: now5.Add(-24 * time.Hour), To: now5, Interval: "5m"}); len(a.Series) < 5 {
		t.Fatalf("fixture too thin: %d series", len(a.Series))
	}
}

// TestEngineRejects checks the engine's own refusals (the language's are
// query.Validate's): unknown customers (400) and ranges it cannot answer
// (422), each with a message naming the fix.
func TestEngineRejects(t *testing.T) {
	e := newEngine(t, enginetest.OpenIndex(t), 1000)
	today := enginetest.Now.Truncate(24 * time.Hour)
	tests := []struct {
		name    string
		q       query.Query
		invalid bool
		msg     string
	}{
		{"unknown customer", query.Query{Customer: "nope.example", Metrics: []string{"pageviews"}, From: today, To: today.Add(time.Hour), Interval: "5m"}, true, `customer "nope.example" is not known to nextgen`},
		{"invalid language", query.Query{Customer: "acme.example", From: today, To: today.Add(time.Hour), Interval: "5m"}, true, "at least one metric"},
		{"5m past retention", query.Query{Customer: "acme.example", Metrics: []string{"pageviews"}, From: today.AddDate(0, 0, -10), To: today, Interval: "5m"}, false, "use interval 1d"},
		{"1d past retention", query.Query{Customer: "acme.example", Metrics: []string{"pageviews"}, From: today.AddDate(-3, 0, 0), To: today, Interval: "1d"}, false, "1-day rollups are kept"},
		{"total off 5m", query.Query{Customer: "acme.example", Metrics: []string{"pageviews"}, From: today.Add(time.Minute), To: today.Add(time.Hour), Interval: "total"}, false, "5-minute boundaries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Execute(testenv.Context(t, time.Minute), tt.q)
			want := http.StatusUnprocessableEntity
			if tt.invalid {
				want = http.StatusBadRequest
			}
			if status, code := query.Classify(err); status != want {
				t.Fatalf("err = %v (%T): %d %s, want %d", err, err, status, code, want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to say %q", err, tt.msg)
			}
		})
	}
}
