package legacy

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/collector"
	"github.com/brooksdata/brooks/shadow/tee"
)

// benchEvents is the number of records BenchmarkIngest consumes per
// iteration (BROOKS_LEGACY_BENCH_EVENTS overrides it).
func benchEvents() int { return testenv.EnvInt("BROOKS_LEGACY_BENCH_EVENTS", 300_000) }

// BenchmarkIngest produces loadgen traffic straight to a fresh 6-partition
// topic on the real Kafka, then measures the ingester consuming, flushing
// to the real Redis and FerretDB and committing all of it. It reports
// events/s from its first record to its last commit (end to end, so the
// last flush's latency counts) and read-events/s, from its first record to
// its last read (the consumption rate, flushes running beside it). The
// target is 20,000 events/s.
func BenchmarkIngest(b *testing.B) {
	cfg := testenv.Require(b, testenv.Kafka, testenv.Redis, testenv.FerretDB)
	s, _ := newTestStore(b, Options{})
	ctx := testenv.Context(b, 20*time.Minute)
	cfg.Topic = testenv.Name("legacy_bench")
	if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: cfg.Topic, Partitions: 6}).Ensure(ctx); err != nil {
		b.Fatal(err)
	}
	n := benchEvents()
	produce(b, ctx, cfg.KafkaBrokers, cfg.Topic, n)
	customers := testenv.Customers(b)
	b.ResetTimer()
	var busy, reading time.Duration
	for range b.N {
		o := DefaultIngestOptions()
		o.Brokers, o.Topic, o.Group, o.Customers = cfg.KafkaBrokers, cfg.Topic, testenv.Name("legacy_bench"), customers
		in, err := NewIngester(s, o)
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- in.Run(rctx) }()
		for in.Stats().Records == 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		start := time.Now()
		for in.Stats().Records < int64(n) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		reading += time.Since(start)
		for in.Stats().Committed < int64(n) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		busy += time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		st := in.Stats()
		b.Logf("%d records, %d post page views, %d flushes in %v", st.Records, st.Pageviews, st.Flushes, time.Since(start).Round(time.Millisecond))
	}
	b.ReportMetric(float64(n*b.N)/busy.Seconds(), "events/s")
	b.ReportMetric(float64(n*b.N)/reading.Seconds(), "read-events/s")
}

// BenchmarkIngestSustained produces loadgen traffic at a steady 20,000
// events/s (BROOKS_LEGACY_BENCH_RATE) for 30 s (BROOKS_LEGACY_BENCH_SECONDS)
// to the real Kafka while the ingester runs, as the firehose would, and
// reports how far behind it is when the traffic stops: redis-lag-s until
// every record is in Redis, commit-lag-s until every record is in MongoDB
// and committed, and the largest read backlog seen. Keeping up means lags
// of about a flush or two, not growing with the duration.
func BenchmarkIngestSustained(b *testing.B) {
	cfg := testenv.Require(b, testenv.Kafka, testenv.Redis, testenv.FerretDB)
	s, _ := newTestStore(b, Options{})
	ctx := testenv.Context(b, 20*time.Minute)
	rate, secs := testenv.EnvInt("BROOKS_LEGACY_BENCH_RATE", 20000), testenv.EnvInt("BROOKS_LEGACY_BENCH_SECONDS", 30)
	customers := testenv.Customers(b)
	for range b.N {
		cfg.Topic = testenv.Name("legacy_bench")
		if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: cfg.Topic, Partitions: 6}).Ensure(ctx); err != nil {
			b.Fatal(err)
		}
		o := DefaultIngestOptions()
		o.Brokers, o.Topic, o.Group, o.Customers = cfg.KafkaBrokers, cfg.Topic, testenv.Name("legacy_bench"), customers
		in, err := NewIngester(s, o)
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- in.Run(rctx) }()

		// Events are made (and stamped) up front, so the producer's CPU goes
		// to sending; they are at most a minute old when sent.
		gen := loadgen.NewGenerator(11, loadgen.DefaultProfiles(), 5000)
		perTick := rate / 10
		ticks := secs * 10
		batches := make([][]kafka.Message, ticks)
		for i := range batches {
			batches[i] = make([]kafka.Message, perTick)
			for j := range batches[i] {
				e, rej := collector.BuildEvent(gen.Next(), time.Now().UTC(), "", "", customers)
				if rej != nil {
					b.Fatal(rej)
				}
				batches[i][j].Key = []byte(e.Customer)
				batches[i][j].Value, _ = e.Marshal()
			}
		}
		w := collector.NewWriter(cfg.KafkaBrokers, cfg.Topic)
		w.BatchSize = perTick
		var produced, backlog int64
		start := time.Now()
		tick := time.NewTicker(100 * time.Millisecond)
		for i, msgs := range batches {
			<-tick.C
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			produced += int64(len(msgs))
			if i > 50 { // after the consumer group settled
				backlog = max(backlog, produced-in.Stats().Records)
			}
		}
		tick.Stop()
		w.Close()
		elapsed := time.Since(start)
		stop := time.Now()
		for in.Stats().Realtime < produced && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		redisLag := time.Since(stop)
		for in.Stats().Committed < produced && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		commitLag := time.Since(stop)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		st := in.Stats()
		b.Logf("%d records at %.0f/s for %v: %d post page views, %d MongoDB flushes; Redis %.1fs and commits %.1fs behind when traffic stopped; largest read backlog %d records",
			produced, float64(produced)/elapsed.Seconds(), elapsed.Round(time.Second), st.Pageviews, st.Flushes, redisLag.Seconds(), commitLag.Seconds(), backlog)
		b.ReportMetric(float64(produced)/elapsed.Seconds(), "events/s")
		b.ReportMetric(redisLag.Seconds(), "redis-lag-s")
		b.ReportMetric(commitLag.Seconds(), "commit-lag-s")
		b.ReportMetric(float64(backlog), "max-backlog")
	}
}

// produce writes n loadgen events, stamped now, to topic.
func produce(b *testing.B, ctx context.Context, brokers []string, topic string, n int) {
	b.Helper()
	w := collector.NewWriter(brokers, topic)
	w.BatchSize, w.BatchTimeout, w.Async = 5000, 20*time.Millisecond, false
	defer w.Close()
	gen := loadgen.NewGenerator(9, loadgen.DefaultProfiles(), 5000)
	customers := testenv.Customers(b)
	t0 := time.Now()
	batch := make([]kafka.Message, 0, 20000)
	for i := range n {
		e, rej := collector.BuildEvent(gen.Next(), time.Now().UTC(), "", "", customers)
		if rej != nil {
			b.Fatal(rej)
		}
		v, err := e.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, kafka.Message{Key: []byte(e.Customer), Value: v})
		if len(batch) == cap(batch) || i == n-1 {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.Logf("produced %d events in %v", n, time.Since(t0).Round(time.Millisecond))
}

// BenchmarkQuery24h5m measures the query API on a day of 5-minute buckets
// in Redis (400 posts × 5 referrer categories, every bucket): the site's
// series and the top 10 posts. It reports the p99 latency.
func BenchmarkQuery24h5m(b *testing.B) {
	s, _ := newTestStore(b, Options{})
	api := newTestAPI(b, s)
	ctx := testenv.Context(b, 10*time.Minute)
	now := time.Now().UTC()
	to := now.Truncate(Step5m).Add(Step5m)
	from := to.Add(-24 * time.Hour)
	for t := from; t.Before(to); t = t.Add(Step5m) {
		batch := NewBatch()
		for p := range 400 {
			for r, ref := range []string{"search", "social", "internal", "direct", "other"} {
				if (p+r)%3 == 0 {
					continue // sparse, as real traffic is
				}
				batch.AddN(Pageview{Customer: "acme.example", Post: fmt.Sprintf("https://acme.example/post/%d", p), Referrer: ref, At: t}, int64(1+p%7+r))
			}
		}
		f := s.prepareRealtime(batch)
		for _, ch := range f.chunks {
			if err := s.writeRedis(ctx, ch); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchQueries(b, ctx, api, map[string]query.Query{
		"site": {Customer: "acme.example", Metrics: []string{"pageviews"}, From: from, To: to, Interval: "5m"},
		"top10posts": {Customer: "acme.example", Metrics: []string{"pageviews"}, GroupBy: []string{"url"},
			From: from, To: to, Interval: "5m", OrderBy: "-pageviews", Limit: 10},
	})
}

// BenchmarkQuery90d1d measures the query API on 90 days of daily documents
// in FerretDB (400 posts a day and the site's totals, inserted directly):
// the site's daily series (site documents), one post's daily series and
// the top 10 posts' daily series (post documents, every day collection).
// It reports the p99 latency.
func BenchmarkQuery90d1d(b *testing.B) {
	s, _ := newTestStore(b, Options{})
	api := newTestAPI(b, s)
	ctx := testenv.Context(b, 10*time.Minute)
	to := time.Now().UTC().Truncate(Day).Add(Day)
	from := to.Add(-90 * Day)
	t0 := time.Now()
	var sites []any
	docs := 0
	for d := from; d.Before(to); d = d.Add(Day) {
		day := d.Format(DayLayout)
		var posts []any
		site := map[string]int{}
		total := 0
		for p := range 400 {
			post := fmt.Sprintf("https://acme.example/post/%d", p)
			refs := map[string]int{"search": p % 11, "social": p % 7, "direct": 1 + p%5}
			pv := refs["search"] + refs["social"] + refs["direct"]
			posts = append(posts, bson.D{{Key: "_id", Value: dayDocID("acme.example", day, post)}, {Key: "customer", Value: "acme.example"},
				{Key: "post", Value: post}, {Key: "day", Value: day}, {Key: "pageviews", Value: pv}, {Key: "referrers", Value: refs}})
			for r, n := range refs {
				site[r] += n
			}
			total += pv
		}
		byColl := map[string][]any{}
		for _, d := range posts {
			post := d.(bson.D)[2].Value.(string)
			name := s.dayCollection(day, "acme.example", post).Name()
			byColl[name] = append(byColl[name], d)
		}
		for name, ds := range byColl {
			if err := s.ensureIndexes(ctx, s.db.Collection(name), postDayIndexes); err != nil {
				b.Fatal(err)
			}
			if _, err := s.db.Collection(name).InsertMany(ctx, ds, options.InsertMany().SetOrdered(false)); err != nil {
				b.Fatal(err)
			}
		}
		docs += len(posts)
		sites = append(sites, bson.D{{Key: "_id", Value: "acme.example|" + day}, {Key: "customer", Value: "acme.example"},
			{Key: "day", Value: day}, {Key: "pageviews", Value: total}, {Key: "referrers", Value: site}})
	}
	if _, err := s.siteCollection().InsertMany(ctx, sites); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d post documents in 90 day collections and %d site documents in %v", docs, len(sites), time.Since(t0).Round(time.Millisecond))
	benchQueries(b, ctx, api, map[string]query.Query{
		"site": {Customer: "acme.example", Metrics: []string{"pageviews"}, From: from, To: to, Interval: "1d"},
		"onepost": {Customer: "acme.example", Metrics: []string{"pageviews"}, Filters: map[string][]string{"url": {"https://acme.example/post/7"}},
			From: from, To: to, Interval: "1d"},
		"top10posts": {Customer: "acme.example", Metrics: []string{"pageviews"}, GroupBy: []string{"url"},
			From: from, To: to, Interval: "1d", OrderBy: "-pageviews", Limit: 10},
	})
}

// benchQueries runs each query b.N times through the HTTP API and reports
// its p50 and p99 latency.
func benchQueries(b *testing.B, ctx context.Context, api *query.Client, qs map[string]query.Query) {
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range qs {
			if !yield(k) {
				return
			}
		}
	}) {
		q := qs[name]
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				ans, err := api.Do(ctx, &q)
				if err != nil {
					b.Fatal(err)
				}
				if len(ans.Series) == 0 {
					b.Fatal("empty answer")
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
		})
	}
}
