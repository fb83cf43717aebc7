package archive

import (
	"compress/gzip"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/pixel"
)

// BenchmarkArchiveFromKafka archives a topic of 20,000 loadgen events from
// the real Kafka into a local folder, from the group's first join until
// every offset is committed (parts fsynced, manifests written).
func BenchmarkArchiveFromKafka(b *testing.B) {
	p := stacktest.Start(b)
	exp := stacktest.Send(b, p, loadgen.Options{Seed: 1, Events: 20000, Batch: 50})
	total := 0
	for _, n := range exp.Sent {
		total += n
	}
	b.ResetTimer()
	for range b.N {
		o := testOptions(p.Cfg.KafkaBrokers, p.Cfg.Topic, testenv.Name("bench"), NewLocalMust(b, b.TempDir()), nil)
		o.RollInterval = 10 * time.Second // one part per customer, closed by stop
		a, stop := runArchiver(b, o)
		for written(a, exp.Sent) < total {
			time.Sleep(10 * time.Millisecond)
		}
		stop() // closes the parts (fsync, rename, manifest) and commits
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "events/s")
}

// written counts the records the archiver wrote into parts.
func written(a *Archiver, sent map[string]int) int {
	n := 0.0
	for c := range sent {
		n += counterValue(a.m.events.WithLabelValues(c))
	}
	return int(n)
}

// BenchmarkPartWrite measures writing records into a part (gzip, sha256,
// event-id hash) and closing it (fsync, rename, manifest), without Kafka.
func BenchmarkPartWrite(b *testing.B) {
	for _, level := range []int{gzip.BestSpeed, gzip.DefaultCompression} {
		b.Run(fmt.Sprintf("gzip%d", level), func(b *testing.B) {
			sink := NewLocalMust(b, b.TempDir())
			gen := loadgen.NewGenerator(1, loadgen.DefaultProfiles(), 0)
			hour := time.Now().UTC().Truncate(time.Hour)
			vals := make([][]byte, 1000)
			eids := make([]string, len(vals))
			for i := range vals {
				p := gen.Next()
				e := pixel.Event{EID: p["eid"], Customer: p["aid"], Type: p["e"], ReceivedAt: hour, URL: p["url"], Referrer: p["refr"],
					DUID: p["duid"], SessionID: p["sid"], UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Raw: p}
				vals[i], _ = e.Marshal()
				eids[i] = e.EID
			}
			const perPart = 10000
			var s *segment
			var bytes int64
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if s == nil {
					var err error
					if s, err = openSegment(ctx, sink, segKey{"acme.example", hour}, 0, int64(i), level, hour); err != nil {
						b.Fatal(err)
					}
				}
				v := vals[i%len(vals)]
				bytes += int64(len(v))
				if err := s.add(int64(i), v, eids[i%len(eids)]); err != nil {
					b.Fatal(err)
				}
				if s.events == perPart || i == b.N-1 {
					if _, err := s.close(ctx, sink, "t", ReasonRoll, "bench", hour); err != nil {
						b.Fatal(err)
					}
					s = nil
				}
			}
			b.SetBytes(bytes / int64(b.N))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkDecode measures decoding a record to find its customer, hour
// and event id.
func BenchmarkDecode(b *testing.B) {
	gen := loadgen.NewGenerator(1, loadgen.DefaultProfiles(), 0)
	p := gen.Next()
	e := pixel.Event{EID: p["eid"], Customer: p["aid"], Type: p["e"], ReceivedAt: time.Now(), URL: p["url"], Referrer: p["refr"],
		DUID: p["duid"], SessionID: p["sid"], UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Raw: p}
	v, _ := e.Marshal()
	b.SetBytes(int64(len(v)))
	for range b.N {
		if _, err := pixel.Unmarshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHead(b *testing.B) {
	gen := loadgen.NewGenerator(1, loadgen.DefaultProfiles(), 0)
	p := gen.Next()
	e := pixel.Event{EID: p["eid"], Customer: p["aid"], Type: p["e"], ReceivedAt: time.Now(), URL: p["url"], Referrer: p["refr"],
		DUID: p["duid"], SessionID: p["sid"], UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Raw: p}
	v, _ := e.Marshal()
	b.SetBytes(int64(len(v)))
	for range b.N {
		if _, err := decodeHead(v); err != nil {
			b.Fatal(err)
		}
	}
}
