package legacy

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
)

// runIngester runs an ingester on cfg's topic until the returned stop is
// called (or the test ends); stop returns Run's error.
func runIngester(t *testing.T, s *Store, cfg config.Config, group string, crash error) (*Ingester, func() error) {
	t.Helper()
	o := DefaultIngestOptions()
	o.Brokers, o.Topic, o.Group, o.Customers = cfg.KafkaBrokers, cfg.Topic, group, testenv.Customers(t)
	o.FlushInterval = 300 * time.Millisecond
	in, err := NewIngester(s, o)
	if err != nil {
		t.Fatal(err)
	}
	in.crashBeforeCommit = crash
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	var stopped bool
	var runErr error
	stop := func() error {
		if !stopped {
			cancel()
			runErr, stopped = <-done, true
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return in, stop
}

// expected is what loadgen says legacy must answer for one customer:
// page views of posts only.
type expected struct {
	customer string
	pv5m     map[string]map[time.Time]float64 // "referrer_category=..|url=.." → bucket → page views
	pv1d     map[string]map[time.Time]float64
	visitors map[string]map[string]struct{} // post → day → visitor set, key "post|day"
	site     map[string]struct{}            // visitors of every post, every day
	nonPost  int                            // page views of other pages
	from, to time.Time                      // 5-minute range
	days     [2]time.Time                   // whole-day range
}

func expectations(t *testing.T, exps []*loadgen.Expectations, customer string) *expected {
	t.Helper()
	c, err := testenv.Customers(t).Get(customer)
	if err != nil {
		t.Fatal(err)
	}
	e := &expected{customer: customer, pv5m: map[string]map[time.Time]float64{}, pv1d: map[string]map[time.Time]float64{},
		visitors: map[string]map[string]struct{}{}, site: map[string]struct{}{}}
	add := func(m map[string]map[time.Time]float64, k string, tm time.Time, n float64) {
		if m[k] == nil {
			m[k] = map[time.Time]float64{}
		}
		m[k][tm] += n
	}
	for _, x := range exps {
		for k, cell := range x.Cells {
			if k.Customer != customer || cell.Pageviews == 0 {
				continue
			}
			if !c.IsPost(k.URL) {
				e.nonPost += cell.Pageviews
				continue
			}
			key := query.KeyString(map[string]string{"url": k.URL, "referrer_category": k.RefCategory})
			day := k.Bucket.Truncate(Day)
			add(e.pv5m, key, k.Bucket, float64(cell.Pageviews))
			add(e.pv1d, key, day, float64(cell.Pageviews))
			vk := k.URL + "|" + day.Format(DayLayout)
			if e.visitors[vk] == nil {
				e.visitors[vk] = map[string]struct{}{}
			}
			maps.Copy(e.visitors[vk], cell.Visitors)
			maps.Copy(e.site, cell.Visitors)
			if e.from.IsZero() || k.Bucket.Before(e.from) {
				e.from = k.Bucket
			}
			if end := k.Bucket.Add(Step5m); end.After(e.to) {
				e.to = end
			}
		}
	}
	if len(e.pv5m) == 0 || e.nonPost == 0 {
		t.Fatalf("loadgen sent %d post cells and %d non-post page views for %s: the test needs both", len(e.pv5m), e.nonPost, customer)
	}
	e.days = [2]time.Time{e.from.Truncate(Day), e.to.Add(-time.Nanosecond).Truncate(Day).Add(Day)}
	return e
}

func (e *expected) total() float64 {
	var n float64
	for _, pts := range e.pv5m {
		for _, v := range pts {
			n += v
		}
	}
	return n
}

// totalPageviews asks legacy for the customer's post page views over the
// expectation's range.
func totalPageviews(ctx context.Context, api *query.Client, e *expected) (float64, error) {
	ans, err := api.Do(ctx, &query.Query{Customer: e.customer, Metrics: []string{"pageviews"}, From: e.from, To: e.to, Interval: "total"})
	if err != nil {
		return 0, err
	}
	if len(ans.Series) == 0 {
		return 0, nil
	}
	return ans.Series[0].Points[0].Values["pageviews"], nil
}

// waitForTotals polls legacy until every customer's total page views reach
// want(e), then checks they stay there for a few more flushes.
func waitForTotals(t *testing.T, api *query.Client, in *Ingester, exps []*expected, want func(*expected) float64) {
	t.Helper()
	ctx := testenv.Context(t, 3*time.Minute)
	for _, e := range exps {
		for {
			got, err := totalPageviews(ctx, api, e)
			if err != nil {
				t.Fatal(err)
			}
			if got == want(e) {
				break
			}
			if got > want(e) {
				t.Fatalf("%s: legacy counts %v page views, more than the %v expected", e.customer, got, want(e))
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: legacy counts %v page views after %v, want %v (ingester %+v)", e.customer, got, 3*time.Minute, want(e), in.Stats())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	// Nothing more may arrive: once every record read is flushed, give the
	// ingester a few more flush intervals to read anything left, and look
	// again.
	for st := in.Stats(); st.Flushed < st.Records && ctx.Err() == nil; st = in.Stats() {
		time.Sleep(50 * time.Millisecond)
	}
	before := in.Stats().Records
	time.Sleep(4 * in.opts.FlushInterval)
	if st := in.Stats(); st.Records != before {
		for st.Flushed < st.Records && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			st = in.Stats()
		}
	}
	for _, e := range exps {
		if got, err := totalPageviews(ctx, api, e); err != nil || got != want(e) {
			t.Fatalf("%s: %v page views later (err %v), want %v", e.customer, got, err, want(e))
		}
	}
}

var testCustomerIDs = []string{"acme.example", "globex.example", "initech.example"}

func TestIngestMatchesLoadgen(t *testing.T) {
	p := stacktest.Start(t)
	exp := stacktest.Send(t, p, loadgen.Options{Seed: 42, Events: 8000})
	s, _ := newTestStore(t, Options{})
	in, stop := runIngester(t, s, p.Cfg, testenv.Name("legacy"), nil)
	api := newTestAPI(t, s)
	var exps []*expected
	for _, c := range testCustomerIDs {
		exps = append(exps, expectations(t, []*loadgen.Expectations{exp}, c))
	}
	waitForTotals(t, api, in, exps, (*expected).total)
	ctx := testenv.Context(t, 2*time.Minute)
	ask := func(t *testing.T, q query.Query) *query.Answer {
		t.Helper()
		ans, err := api.Do(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}

	for _, e := range exps {
		t.Run(e.customer, func(t *testing.T) {
			t.Run("5m by url and referrer", func(t *testing.T) {
				ans := ask(t, query.Query{Customer: e.customer, Metrics: []string{"pageviews"}, GroupBy: []string{"url", "referrer_category"},
					From: e.from, To: e.to, Interval: "5m"})
				compareCells(t, cells(ans, "pageviews"), e.pv5m)
			})
			t.Run("1d by url and referrer", func(t *testing.T) {
				ans := ask(t, query.Query{Customer: e.customer, Metrics: []string{"pageviews"}, GroupBy: []string{"referrer_category", "url"},
					From: e.days[0], To: e.days[1], Interval: "1d"})
				compareCells(t, cells(ans, "pageviews"), e.pv1d)
			})
			t.Run("total by referrer", func(t *testing.T) {
				want := map[string]map[time.Time]float64{}
				for k, pts := range e.pv1d {
					ref := k[:len("referrer_category=")+len(keyValue(k, "referrer_category"))]
					for _, v := range pts {
						if want[ref] == nil {
							want[ref] = map[time.Time]float64{}
						}
						want[ref][e.days[0]] += v
					}
				}
				ans := ask(t, query.Query{Customer: e.customer, Metrics: []string{"pageviews"}, GroupBy: []string{"referrer_category"},
					From: e.days[0], To: e.days[1], Interval: "total"})
				compareCells(t, cells(ans, "pageviews"), want)
			})
			t.Run("visitors per post and day", func(t *testing.T) {
				ans := ask(t, query.Query{Customer: e.customer, Metrics: []string{"visitors"}, GroupBy: []string{"url"},
					From: e.days[0], To: e.days[1], Interval: "1d"})
				got := cells(ans, "visitors")
				n := 0
				for vk, set := range e.visitors {
					post, day := vk[:len(vk)-len("|2006-01-02")], vk[len(vk)-len("2006-01-02"):]
					dt, _ := time.Parse(DayLayout, day)
					if g := got["url="+post][dt]; !withinHLL(g, float64(len(set))) {
						t.Errorf("visitors of %s on %s = %v, want %d ± HLL error", post, day, g, len(set))
					}
					n++
				}
				if n != countPoints(got) {
					t.Errorf("%d visitor points, want %d", countPoints(got), n)
				}
			})
			t.Run("site visitors", func(t *testing.T) {
				ans := ask(t, query.Query{Customer: e.customer, Metrics: []string{"visitors", "pageviews"},
					From: e.days[0], To: e.days[1], Interval: "total"})
				if len(ans.Series) != 1 {
					t.Fatalf("%d series, want 1", len(ans.Series))
				}
				v := ans.Series[0].Points[0].Values
				if !withinHLL(v["visitors"], float64(len(e.site))) || v["pageviews"] != e.total() {
					t.Errorf("site = %v, want %d visitors ± HLL error and %v page views", v, len(e.site), e.total())
				}
				if ans.Approximate["visitors"].RelativeStdError != HLLRelativeStdError {
					t.Errorf("approximate = %+v", ans.Approximate)
				}
			})
			t.Run("top posts", func(t *testing.T) {
				totals := map[string]float64{}
				for k, pts := range e.pv1d {
					for _, v := range pts {
						totals[keyValue(k, "url")] += v
					}
				}
				values := slices.Sorted(maps.Values(totals))
				slices.Reverse(values)
				ans := ask(t, query.Query{Customer: e.customer, Metrics: []string{"pageviews"}, GroupBy: []string{"url"},
					From: e.days[0], To: e.days[1], Interval: "total", OrderBy: "-pageviews", Limit: 10})
				if len(ans.Series) != min(10, len(values)) {
					t.Fatalf("%d series, want %d", len(ans.Series), min(10, len(values)))
				}
				for i, s := range ans.Series {
					got := s.Points[0].Values["pageviews"]
					if got != values[i] || got != totals[s.Key["url"]] {
						t.Errorf("top %d: %s = %v, want the %d-th largest total %v (its total is %v)", i+1, s.Key["url"], got, i+1, values[i], totals[s.Key["url"]])
					}
				}
			})
		})
	}

	nonPost := 0
	for _, e := range exps {
		nonPost += e.nonPost
	}
	if got := counterValue(in.m.ignored.WithLabelValues(ReasonNonPost)); got < float64(nonPost) {
		t.Errorf("ignored non_post = %v, want at least the %d non-post page views sent", got, nonPost)
	}
	if got := counterValue(in.m.ignored.WithLabelValues(ReasonNotPageview)); got == 0 {
		t.Error("no record ignored as not_pageview: page pings were sent")
	}
	if err := stop(); err != nil {
		t.Errorf("ingester: %v", err)
	}
	if st := in.Stats(); st.Committed != st.Records {
		t.Errorf("after a clean stop %d of %d records are committed", st.Committed, st.Records)
	}
}

// keyValue returns the value of dim in a KeyString.
func keyValue(key, dim string) string {
	for _, part := range splitKey(key) {
		if len(part) > len(dim) && part[:len(dim)+1] == dim+"=" {
			return part[len(dim)+1:]
		}
	}
	return ""
}

func splitKey(key string) []string {
	var out []string
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '|' {
			out = append(out, key[start:i])
			start = i + 1
		}
	}
	return append(out, key[start:])
}

func countPoints(m map[string]map[time.Time]float64) int {
	n := 0
	for _, pts := range m {
		n += len(pts)
	}
	return n
}

// TestIngestRestartContinues stops the ingester cleanly between two sends:
// the second ingester continues from the committed offsets, so nothing is
// counted twice or lost.
func TestIngestRestartContinues(t *testing.T) {
	p := stacktest.Start(t)
	s, _ := newTestStore(t, Options{})
	api := newTestAPI(t, s)
	group := testenv.Name("legacy")
	first := stacktest.Send(t, p, loadgen.Options{Seed: 1, Events: 2000})
	in, stop := runIngester(t, s, p.Cfg, group, nil)
	var exps1 []*expected
	for _, c := range testCustomerIDs {
		exps1 = append(exps1, expectations(t, []*loadgen.Expectations{first}, c))
	}
	waitForTotals(t, api, in, exps1, (*expected).total)
	if err := stop(); err != nil {
		t.Fatalf("first ingester: %v", err)
	}

	second := stacktest.Send(t, p, loadgen.Options{Seed: 2, Events: 2000})
	in2, stop2 := runIngester(t, s, p.Cfg, group, nil)
	var exps []*expected
	for _, c := range testCustomerIDs {
		exps = append(exps, expectations(t, []*loadgen.Expectations{first, second}, c))
	}
	waitForTotals(t, api, in2, exps, (*expected).total)
	if err := stop2(); err != nil {
		t.Fatalf("second ingester: %v", err)
	}
	if a, b := in.Stats().Records, in2.Stats().Records; b >= a+b || b == 0 {
		t.Errorf("second ingester read %d records (first %d): want only the new ones", b, a)
	}
}

// TestIngestCrashBeforeCommitCountsTwice shows System One's at-least-once
// delivery: a crash after a flush reached the stores and before its offsets
// were committed makes the next ingester read those records again, and
// their page views are counted twice (the audit catches it).
func TestIngestCrashBeforeCommitCountsTwice(t *testing.T) {
	p := stacktest.Start(t)
	s, _ := newTestStore(t, Options{})
	api := newTestAPI(t, s)
	group := testenv.Name("legacy")
	exp := stacktest.Send(t, p, loadgen.Options{Seed: 3, Events: 2000})
	crash := errors.New("simulated crash between flush and commit")
	crashed, stop := runIngester(t, s, p.Cfg, group, crash)
	ctx := testenv.Context(t, 3*time.Minute)
	for crashed.Stats().Flushes == 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); !errors.Is(err, crash) {
		t.Fatalf("crashed ingester returned %v, want the simulated crash", err)
	}
	// Redis (the 5-minute totals asked below) counts twice what the crashed
	// ingester wrote to it; MongoDB what it wrote there.
	twice := float64(crashed.Stats().RealtimePageviews)
	twiceDaily := float64(crashed.Stats().Pageviews)
	if st := crashed.Stats(); st.Committed != 0 || twiceDaily == 0 {
		t.Fatalf("crashed ingester: %+v, want page views flushed and nothing committed", st)
	}

	in, stop2 := runIngester(t, s, p.Cfg, group, nil)
	var want, got float64
	var exps []*expected
	for _, c := range testCustomerIDs {
		e := expectations(t, []*loadgen.Expectations{exp}, c)
		exps = append(exps, e)
		want += e.total()
	}
	for {
		got = 0
		for _, e := range exps {
			n, err := totalPageviews(ctx, api, e)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
		if got >= want+twice || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != want+twice {
		t.Errorf("legacy counts %v page views, want %v sent + %v counted twice", got, want, twice)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	var daily float64
	for _, e := range exps {
		ans, err := api.Do(ctx, &query.Query{Customer: e.customer, Metrics: []string{"pageviews"}, From: e.days[0], To: e.days[1], Interval: "total"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ans.Series) > 0 {
			daily += ans.Series[0].Points[0].Values["pageviews"]
		}
	}
	if daily != want+twiceDaily {
		t.Errorf("daily documents count %v page views, want %v sent + %v counted twice", daily, want, twiceDaily)
	}
	if st := in.Stats(); st.Committed != st.Records {
		t.Errorf("second ingester committed %d of %d records", st.Committed, st.Records)
	}
	t.Logf("a crash between flush and commit counted %v of %v page views twice", twice, want)
}

// counterValue reads a Prometheus counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
