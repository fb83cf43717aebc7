package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/pixel"
)

// benchLog prints a benchmark's figures on stdout: testing keeps only a
// few lines of a benchmark's log.
func benchLog(b *testing.B, format string, args ...any) {
	b.Helper()
	fmt.Printf("    "+format+"\n", args...)
}

// engineGC sets the garbage collector target brooks nextgen run sets
// (unless GOGC is set) and returns the function that restores it.
func engineGC() func() {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(engine.GCPercent)
	return func() { debug.SetGCPercent(old) }
}

// BenchmarkIngest is sustained ingest through Cassandra and the rollups:
// BROOKS_BENCH_EVENTS (default 300000) loadgen-shaped events of the three
// customers are produced to a fresh 6-partition topic first, then one
// engine consumes them all; the figure is events per second from the
// engine's first applied batch to the last offset committed (raw rows
// written, documents written, offsets committed). It runs the scenario
// once (the setup is expensive); ns/op is meaningless, read events/s.
func BenchmarkIngest(b *testing.B) {
	n := testenv.EnvInt("BROOKS_BENCH_EVENTS", 300000)
	defer engineGC()()
	for range b.N {
		b.StopTimer()
		e := newEnv(b, testenv.Config(b))
		now := time.Now().UTC()
		events := generate(b, 3, n, now.Add(-30*time.Minute), 30*time.Minute)
		produce(b, e.cfg, events)
		end := endOffsets(b, e.cfg)
		b.StartTimer()
		cpu := newCPUMeter(b)
		start := time.Now()
		reg := prometheus.NewRegistry()
		eng, stop := e.start(b, func(o *engine.Options) {
			o.FlushInterval, o.DailyFlushInterval = time.Second, 10*time.Second
			o.Registerer = reg
		})
		var first time.Time
		for {
			st := eng.Status()
			if first.IsZero() && len(st) > 0 {
				first = time.Now()
			}
			done := 0
			for _, s := range st {
				if s.Committed >= end[s.Partition] {
					done++
				}
			}
			nonEmpty := 0
			for _, off := range end {
				if off > 0 {
					nonEmpty++
				}
			}
			if done == nonEmpty && nonEmpty > 0 {
				break
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("not caught up after 10 minutes: %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(first)
		b.StopTimer()
		cpu.report(b, n)
		stop()
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		b.ReportMetric(first.Sub(start).Seconds(), "join-s")
		logStages(b, reg)
		logESStats(b, e)
		benchLog(b, "%d events in %v after joining the group in %v: %.0f events/s", n, elapsed.Round(time.Millisecond), first.Sub(start).Round(time.Millisecond), float64(n)/elapsed.Seconds())
	}
}

// BenchmarkFreshness measures how long a pixel takes from Kafka to being
// visible in an Elasticsearch search, under sustained load: loadgen-shaped
// events are produced at BROOKS_BENCH_RATE events/s (default 10000) for
// BROOKS_BENCH_SECONDS (default 20), with a probe page view (its own URL,
// so its own document) every 50 ms stamped with its production time; a
// poller searches for probes every 50 ms. Reported: p50 and p99 of
// visible-at minus produced-at (poll resolution 50 ms; includes the 1 s
// flush interval and ES's 1 s refresh).
func BenchmarkFreshness(b *testing.B) {
	rate := testenv.EnvInt("BROOKS_BENCH_RATE", 10000)
	secs := testenv.EnvInt("BROOKS_BENCH_SECONDS", 20)
	defer engineGC()()
	for range b.N {
		b.StopTimer()
		e := newEnv(b, testenv.Config(b))
		pool := generate(b, 4, 50000, time.Now(), time.Second)
		_, stop := e.start(b, func(o *engine.Options) { o.FlushInterval, o.DailyFlushInterval = time.Second, 10*time.Second })
		// Warm up: let the engine join and apply something.
		produce(b, e.cfg, pool[:100])
		waitCommitted(b, e.cfg, e.group, time.Minute)
		b.StartTimer()

		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
		var mu sync.Mutex
		produced := map[string]time.Time{}
		seen := map[string]time.Time{}
		var wg sync.WaitGroup
		wg.Add(2)
		var sentEvents int
		go func() { // producer: rate events/s in 50 ms ticks, one probe per tick
			defer wg.Done()
			w := &kafka.Writer{Addr: kafka.TCP(e.cfg.KafkaBrokers...), Topic: e.cfg.Topic, Balancer: &kafka.Murmur2Balancer{},
				RequiredAcks: kafka.RequireAll, BatchSize: 2000, BatchTimeout: 5 * time.Millisecond}
			defer w.Close()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			per := rate / 20
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				now := time.Now().UTC()
				msgs := make([]kafka.Message, 0, per+1)
				for j := range per {
					ev := pool[(i*per+j)%len(pool)]
					ev.EID = fmt.Sprintf("f-%d-%d", i, j)
					ev.ReceivedAt = now
					v, _ := ev.Marshal()
					msgs = append(msgs, kafka.Message{Key: []byte(ev.Customer), Value: v})
				}
				probe := pixel.Event{EID: fmt.Sprintf("probe-%d", i), Customer: "acme.example", Type: pixel.TypePageView, ReceivedAt: now,
					URL: fmt.Sprintf("https://acme.example/probe/%d", i), DUID: "probe"}
				v, _ := probe.Marshal()
				msgs = append(msgs, kafka.Message{Key: []byte(probe.Customer), Value: v})
				mu.Lock()
				produced[probe.URL] = now
				mu.Unlock()
				if err := w.WriteMessages(context.Background(), msgs...); err != nil {
					b.Errorf("produce: %v", err)
					return
				}
				sentEvents += len(msgs)
			}
		}()
		go func() { // poller
			defer wg.Done()
			deadline := time.Now().Add(time.Duration(secs)*time.Second + 30*time.Second)
			for time.Now().Before(deadline) {
				urls, err := probes(e)
				if err != nil {
					b.Errorf("poll: %v", err)
					return
				}
				now := time.Now()
				mu.Lock()
				for _, u := range urls {
					if _, ok := seen[u]; !ok {
						seen[u] = now
					}
				}
				all := ctx.Err() != nil && len(seen) >= len(produced)
				mu.Unlock()
				if all {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		wg.Wait()
		cancel()
		b.StopTimer()
		stop()
		var lags []time.Duration
		for u, at := range produced {
			if s, ok := seen[u]; ok {
				lags = append(lags, s.Sub(at))
			}
		}
		if len(lags) < len(produced) {
			b.Errorf("%d of %d probes never became visible", len(produced)-len(lags), len(produced))
		}
		if len(lags) == 0 {
			b.Fatal("no probe became visible")
		}
		slices.Sort(lags)
		p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
		b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
		b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
		b.ReportMetric(float64(sentEvents)/float64(secs), "events/s")
		benchLog(b, "freshness at %d events/s offered (%d sent in %ds): p50 %v, p99 %v, max %v over %d probes",
			rate, sentEvents, secs, p50, p99, lags[len(lags)-1], len(lags))
	}
}

// logStages logs where the engine spent its time: the histograms' sums
// and counts.
func logStages(b *testing.B, reg *prometheus.Registry) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil && c.GetValue() > 0 {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetValue())
				}
				benchLog(b, "%s%v: %.0f", mf.GetName(), labels, c.GetValue())
			}
			if h := m.GetHistogram(); h != nil && h.GetSampleCount() > 0 {
				benchLog(b, "%s: %d in %.1fs (mean %.1f ms)", mf.GetName(), h.GetSampleCount(), h.GetSampleSum(), 1000*h.GetSampleSum()/float64(h.GetSampleCount()))
			}
		}
	}
}

// logESStats logs Elasticsearch's own time spent on the benchmark's
// indices (indexing, realtime gets, refreshes, merges): attributable even
// when other work shares the server.
func logESStats(b *testing.B, e *env) {
	res, err := esapi.IndicesStatsRequest{Index: []string{e.es.Names.Prefix + "-rollup-*"}, Metric: []string{"indexing", "get", "refresh", "merge", "docs"}}.Do(context.Background(), e.es.ES)
	if err != nil {
		benchLog(b, "es stats: %v", err)
		return
	}
	defer res.Body.Close()
	var out struct {
		All struct {
			Total struct {
				Indexing struct {
					Total  int64 `json:"index_total"`
					Millis int64 `json:"index_time_in_millis"`
				} `json:"indexing"`
				Get struct {
					Total  int64 `json:"total"`
					Millis int64 `json:"time_in_millis"`
				} `json:"get"`
				Refresh struct {
					Total  int64 `json:"total"`
					Millis int64 `json:"total_time_in_millis"`
				} `json:"refresh"`
				Merges struct {
					Total  int64 `json:"total"`
					Millis int64 `json:"total_time_in_millis"`
				} `json:"merges"`
			} `json:"total"`
		} `json:"_all"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		benchLog(b, "es stats: %v", err)
		return
	}
	t := out.All.Total
	benchLog(b, "elasticsearch on these indices: %d docs indexed in %d ms, %d gets in %d ms, %d refreshes in %d ms, %d merges in %d ms",
		t.Indexing.Total, t.Indexing.Millis, t.Get.Total, t.Get.Millis, t.Refresh.Total, t.Refresh.Millis, t.Merges.Total, t.Merges.Millis)
}

// probes lists the probe URLs visible in the 5-minute documents.
func probes(e *env) ([]string, error) {
	body := `{"size":0,"query":{"prefix":{"d_url":"https://acme.example/probe/"}},"aggs":{"u":{"terms":{"field":"d_url","size":100000}}}}`
	res, err := esapi.SearchRequest{Index: []string{e.es.Names.Pattern("5m")}, Body: strings.NewReader(body), AllowNoIndices: esapi.BoolPtr(true)}.Do(context.Background(), e.es.ES)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.IsError() {
		return nil, fmt.Errorf("search: %s", res.Status())
	}
	var out struct {
		Aggregations struct {
			U struct {
				Buckets []struct {
					Key string `json:"key"`
				} `json:"buckets"`
			} `json:"u"`
		} `json:"aggregations"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, err
	}
	urls := make([]string, len(out.Aggregations.U.Buckets))
	for i, bk := range out.Aggregations.U.Buckets {
		urls[i] = bk.Key
	}
	return urls, nil
}
