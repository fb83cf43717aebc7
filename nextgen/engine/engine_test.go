package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// withRetries appends copies of some events (same eid, received a few
// seconds later, as a tracker retry would be) after their originals.
func withRetries(events []pixel.Event, every int, seed uint64) []pixel.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]pixel.Event, 0, len(events)+len(events)/every)
	for i, e := range events {
		out = append(out, e)
		if i%every == every-1 {
			d := events[rng.IntN(i+1)]
			d.ReceivedAt = d.ReceivedAt.Add(2 * time.Second)
			out = append(out, d)
		}
	}
	return out
}

// The engine's documents equal the batch rollup of the same events, cell by
// cell (sums and visitor sets), at both granularities, with retried eids
// counted once; the raw store holds each eid once.
func TestEngineEqualsBatchRollup(t *testing.T) {
	e := newEnv(t, testenv.Config(t))
	now := time.Now().UTC()
	events := withRetries(generate(t, 7, 12000, now.Add(-40*time.Minute), 40*time.Minute), 40, 7)
	produce(t, e.cfg, events)
	_, stop := e.start(t, nil)
	waitCommitted(t, e.cfg, e.group, 2*time.Minute)
	stop()

	for _, g := range rollup.Granularities {
		compareCells(t, string(g), e.cells(t, g), batchCells(t, events, g))
	}
	distinct := map[string]map[time.Time]map[string]bool{}
	for _, ev := range events {
		if distinct[ev.Customer] == nil {
			distinct[ev.Customer] = map[time.Time]map[string]bool{}
		}
		if distinct[ev.Customer][ev.Hour()] == nil {
			distinct[ev.Customer][ev.Hour()] = map[string]bool{}
		}
		distinct[ev.Customer][ev.Hour()][ev.EID] = true
	}
	ctx := testenv.Context(t, time.Minute)
	for cust, hours := range distinct {
		for h, eids := range hours {
			// A retry stays in its origin's hour row unless the hour turned
			// between them; count the origin's hour.
			n, err := e.raw.Count(ctx, cust, h)
			if err != nil {
				t.Fatal(err)
			}
			if n > len(eids) {
				t.Errorf("raw store %s %v: %d rows for %d distinct eids", cust, h, n, len(eids))
			}
		}
	}
	var rows, want int
	for cust, hours := range distinct {
		seen := map[string]bool{}
		for h := range hours {
			n, _ := e.raw.Count(ctx, cust, h)
			rows += n
			for eid := range hours[h] {
				seen[eid] = true
			}
		}
		want += len(seen)
	}
	if rows != want {
		t.Errorf("raw store holds %d rows, want %d (one per eid)", rows, want)
	}
}

// loadgen traffic through the real collector: the stored 5-minute
// documents sum, per (customer, bucket, url, referrer category), to
// loadgen's own exact expectations, and the daily documents to its totals;
// an Elasticsearch aggregation (sum, cardinality) over the documents gives
// the same totals.
func TestEngineMatchesLoadgenExpectations(t *testing.T) {
	from := time.Now().UTC()
	p := stacktest.Start(t)
	e := newEnv(t, p.Cfg)
	_, stop := e.start(t, nil)
	exp := stacktest.Send(t, p, loadgen.Options{Seed: 42, Events: 6000, Batch: 20, Concurrency: 4})
	waitCommitted(t, e.cfg, e.group, 2*time.Minute)
	stop()

	checkLoadgen(t, e, exp)
	checkLedger(t, e, p.Ledger, from, time.Now().Add(time.Hour))
}

// checkLoadgen compares the stored documents with loadgen's expectations:
// per (customer, 5-minute bucket, url, referrer category) every count and
// visitor set size, then per customer-day the daily documents and an
// Elasticsearch aggregation.
func checkLoadgen(t *testing.T, e *env, exp *loadgen.Expectations) {
	t.Helper()
	type key = loadgen.Key
	got := map[key]*loadgen.Cell{}
	var sites []*rollup.Cell
	for _, c := range e.cells(t, rollup.FiveMinutes) {
		if c.Key.Site() {
			sites = append(sites, c)
			continue
		}
		k := key{Customer: c.Key.Customer, Bucket: c.BucketStart(), URL: c.Dim("url"), RefCategory: c.Dim("referrer_category")}
		g := got[k]
		if g == nil {
			g = &loadgen.Cell{Visitors: map[string]struct{}{}, NewVisitors: map[string]struct{}{}, ReturningVisitors: map[string]struct{}{}}
			got[k] = g
		}
		g.Pageviews += int(c.Sum("pageviews"))
		g.Pings += int(c.Sum("pings"))
		g.VideoStarts += int(c.Sum("video_starts"))
		for _, pair := range []struct {
			name string
			set  map[string]struct{}
		}{{"visitors", g.Visitors}, {"new_visitors", g.NewVisitors}, {"returning_visitors", g.ReturningVisitors}} {
			for _, v := range c.Set(pair.name) {
				pair.set[v] = struct{}{}
			}
		}
	}
	bad := 0
	for _, k := range exp.Keys() {
		w := exp.Cells[k]
		if w.Pageviews == 0 && w.Pings == 0 && w.VideoStarts == 0 {
			continue // only events that count nothing (other structured events)
		}
		g := got[k]
		if g == nil {
			g = &loadgen.Cell{}
		}
		if g.Pageviews != w.Pageviews || g.Pings != w.Pings || g.VideoStarts != w.VideoStarts ||
			len(g.Visitors) != len(w.Visitors) || len(g.NewVisitors) != len(w.NewVisitors) || len(g.ReturningVisitors) != len(w.ReturningVisitors) {
			if bad++; bad <= 10 {
				t.Errorf("%s %v %s %s: got pv %d pings %d video %d visitors %d/%d/%d, want %d %d %d %d/%d/%d", k.Customer, k.Bucket, k.URL, k.RefCategory,
					g.Pageviews, g.Pings, g.VideoStarts, len(g.Visitors), len(g.NewVisitors), len(g.ReturningVisitors),
					w.Pageviews, w.Pings, w.VideoStarts, len(w.Visitors), len(w.NewVisitors), len(w.ReturningVisitors))
			}
		}
		delete(got, k)
	}
	for k, g := range got {
		if bad++; bad <= 10 {
			t.Errorf("stored cell loadgen does not expect: %+v pageviews %d", k, g.Pageviews)
		}
	}
	// Site documents: each 5-minute bucket's totals, visitors exact.
	if len(sites) == 0 {
		t.Error("no 5-minute site documents")
	}
	for _, c := range sites {
		want := exp.Total(func(k loadgen.Key) bool { return k.Customer == c.Key.Customer && k.Bucket.Equal(c.BucketStart()) })
		if !sameTotals(c, want) {
			t.Errorf("%s %v site document: pv %d pings %d video %d visitors %d/%d/%d, want %+v", c.Key.Customer, c.BucketStart(), c.Sum("pageviews"), c.Sum("pings"),
				c.Sum("video_starts"), c.Count("visitors"), c.Count("new_visitors"), c.Count("returning_visitors"), want)
		}
	}
	if t.Failed() {
		return
	}

	// Daily documents and an ES aggregation agree with loadgen's totals.
	days := e.cells(t, rollup.OneDay)
	ctx := testenv.Context(t, time.Minute)
	for _, cust := range e.customers.IDs() {
		for day := range daysOf(exp, cust) {
			want := exp.Total(func(k loadgen.Key) bool { return k.Customer == cust && k.Bucket.Truncate(24*time.Hour).Equal(day) })
			tot := rollup.DefaultRegistry.NewCell(rollup.Key{Tuple: "tuples"})
			var site *rollup.Cell
			for k, c := range days {
				switch {
				case k.Customer != cust || !k.BucketStart().Equal(day):
				case k.Site():
					site = c
				default:
					tot.Merge(c)
				}
			}
			for what, c := range map[string]*rollup.Cell{"tuple documents": tot, "site document": site} {
				if c == nil || !sameTotals(c, want) {
					t.Errorf("%s %v daily %s: %s, want %+v", cust, day, what, totals(c), want)
				}
			}
			agg := aggregate(t, ctx, e, cust, day)
			if int(agg["pageviews"]) != want.Pageviews || int(agg["visitors"]) != want.Visitors || int(agg["engaged"]) != want.Pings*heartbeat(t, e, cust) {
				t.Errorf("%s %v aggregation: %v, want pageviews %d visitors %d pings %d", cust, day, agg, want.Pageviews, want.Visitors, want.Pings)
			}
		}
	}
}

// sameTotals reports whether c's sums and set sizes are want's.
func sameTotals(c *rollup.Cell, want loadgen.Totals) bool {
	return int(c.Sum("pageviews")) == want.Pageviews && int(c.Sum("pings")) == want.Pings && int(c.Sum("video_starts")) == want.VideoStarts &&
		c.Count("visitors") == want.Visitors && c.Count("new_visitors") == want.NewVisitors && c.Count("returning_visitors") == want.ReturningVisitors
}

func totals(c *rollup.Cell) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("pv %d pings %d video %d visitors %d/%d/%d", c.Sum("pageviews"), c.Sum("pings"),
		c.Sum("video_starts"), c.Count("visitors"), c.Count("new_visitors"), c.Count("returning_visitors"))
}

func daysOf(exp *loadgen.Expectations, cust string) map[time.Time]bool {
	out := map[time.Time]bool{}
	for _, k := range exp.Keys() {
		if k.Customer == cust {
			out[k.Bucket.Truncate(24*time.Hour)] = true
		}
	}
	return out
}

func heartbeat(t testing.TB, e *env, cust string) int {
	c, err := e.customers.Get(cust)
	if err != nil {
		t.Fatal(err)
	}
	return c.HeartbeatSeconds
}

// aggregate asks Elasticsearch for one customer-day's totals over the
// 5-minute documents: sums and a cardinality over v_visitors (exact below
// the precision threshold of 40000).
func aggregate(t testing.TB, ctx context.Context, e *env, cust string, day time.Time) map[string]float64 {
	t.Helper()
	body := fmt.Sprintf(`{"size":0,"query":{"bool":{"filter":[{"term":{"customer":%q}},{"range":{"bucket":{"gte":%q,"lt":%q}}}]}},
		"aggs":{"pageviews":{"sum":{"field":"m_pageviews"}},"engaged":{"sum":{"field":"m_engaged_seconds"}},
		"visitors":{"cardinality":{"field":"v_visitors","precision_threshold":40000}}}}`,
		cust, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339))
	res, err := esapi.SearchRequest{Index: []string{e.es.Names.Pattern(rollup.FiveMinutes)}, Body: strings.NewReader(body)}.Do(ctx, e.es.ES)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Aggregations map[string]struct {
			Value float64 `json:"value"`
		} `json:"aggregations"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.IsError() {
		t.Fatalf("aggregate: %s %v", res.Status(), err)
	}
	m := map[string]float64{}
	for k, v := range out.Aggregations {
		m[k] = v.Value
	}
	return m
}

// An event replayed with the same eid — retried seconds later, again after
// the first copy was committed, and again in the next engine run — is
// counted once and stored once.
func TestReplayedEIDCountedOnce(t *testing.T) {
	e := newEnv(t, testenv.Config(t))
	at := time.Now().UTC().Add(-time.Minute)
	ev := pixel.Event{EID: "0b7e4c1a-1111-4c1a-9d3e-000000000001", Customer: "acme.example", Type: pixel.TypePageView, ReceivedAt: at,
		URL: "https://acme.example/post/1", DUID: "visitor-1", VisitIndex: 1}
	retry := ev
	retry.ReceivedAt = at.Add(3 * time.Second)
	other := ev
	other.EID, other.DUID = "0b7e4c1a-1111-4c1a-9d3e-000000000002", "visitor-2"

	produce(t, e.cfg, []pixel.Event{ev, retry})
	_, stop := e.start(t, nil)
	waitCommitted(t, e.cfg, e.group, time.Minute)
	produce(t, e.cfg, []pixel.Event{retry, other})
	waitCommitted(t, e.cfg, e.group, time.Minute)
	stop()
	produce(t, e.cfg, []pixel.Event{ev})
	_, stop = e.start(t, nil)
	waitCommitted(t, e.cfg, e.group, time.Minute)
	stop()

	for _, g := range rollup.Granularities {
		tot := rollup.DefaultRegistry.NewCell(rollup.Key{Tuple: "tuples"})
		for _, c := range e.cells(t, g) {
			if !c.Key.Site() {
				tot.Merge(c)
			}
		}
		if tot.Sum("pageviews") != 2 || tot.Count("visitors") != 2 {
			t.Errorf("%s: pageviews %d visitors %d, want 2 and 2", g, tot.Sum("pageviews"), tot.Count("visitors"))
		}
	}
	events, err := e.raw.Read(testenv.Context(t, time.Minute), "acme.example", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || !events[0].ReceivedAt.Equal(at) {
		t.Errorf("raw store holds %d events (first received %v), want 2 with the original's receive time %v", len(events), events[0].ReceivedAt, at)
	}
}

// A clean stop (SIGTERM) and restart resumes from the committed offsets
// and the stored documents: the totals equal the batch rollup.
func TestStopAndResume(t *testing.T) {
	e := newEnv(t, testenv.Config(t))
	now := time.Now().UTC()
	events := generate(t, 11, 6000, now.Add(-10*time.Minute), 10*time.Minute)
	produce(t, e.cfg, events[:3000])
	_, stop := e.start(t, nil)
	waitCommitted(t, e.cfg, e.group, time.Minute)
	stop()
	produce(t, e.cfg, events[3000:])
	_, stop = e.start(t, func(o *engine.Options) { o.IdleEvict = time.Millisecond })
	waitCommitted(t, e.cfg, e.group, time.Minute)
	stop()
	for _, g := range rollup.Granularities {
		compareCells(t, string(g), e.cells(t, g), batchCells(t, events, g))
	}
}
