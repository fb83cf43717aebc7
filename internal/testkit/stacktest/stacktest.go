// Package stacktest runs the front of the real pipeline inside a test: a
// fresh Kafka raw-pixel topic on the real broker and a real collector on a
// free loopback port, and sends loadgen traffic through it. Data-path tests
// (legacy, nextgen, archive, audit) consume the topic it made.
package stacktest

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/shadow/collector"
	"github.com/brooksdata/brooks/shadow/tee"
)

// Pipeline is a running collector writing to its own topic.
type Pipeline struct {
	// Cfg is the test configuration with Topic set to the fresh topic.
	Cfg config.Config
	// URL is the collector's base URL.
	URL string
	// Ledger holds the collector's ledger tallies (not flushed anywhere).
	Ledger *ledger.Accumulator
}

// Start creates a topic named after the test and runs a collector for it
// until the test ends.
func Start(t testing.TB) *Pipeline {
	t.Helper()
	cfg := testenv.Require(t, testenv.Kafka)
	cfg.Topic = testenv.Name("pixels")
	ctx := testenv.Context(t, time.Minute)
	if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: cfg.Topic, Partitions: cfg.TopicPartitions}).Ensure(ctx); err != nil {
		t.Fatalf("stacktest: kafka topic: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := ledger.NewAccumulator()
	o := component.DefaultOptions()
	o.Name, o.Listener, o.ShutdownTimeout = "collector", ln, 10*time.Second
	run := component.New(o)
	if _, err := collector.Register(run, collector.Options{Customers: testenv.Customers(t), Ledger: acc},
		collector.NewWriter(cfg.KafkaBrokers, cfg.Topic), cfg.KafkaBrokers); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("stacktest: collector: %v", err)
		}
	})
	p := &Pipeline{Cfg: cfg, URL: "http://" + ln.Addr().String(), Ledger: acc}
	waitHealthy(t, p.URL)
	return p
}

func waitHealthy(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("stacktest: collector at %s never became healthy", url)
}

// Send runs loadgen against the pipeline's collector and fails the test if
// any event was not acknowledged or a request straddled a 5-minute
// boundary. Target is set from p; the rest of o is the caller's.
func Send(t testing.TB, p *Pipeline, o loadgen.Options) *loadgen.Expectations {
	t.Helper()
	o.Target = p.URL
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.Batch == 0 {
		o.Batch = 20
	}
	rep, err := loadgen.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("stacktest: loadgen: %v", err)
	}
	if rep.Failed > 0 {
		t.Fatalf("stacktest: %d events not acknowledged: %v", rep.Failed, rep.Rejected)
	}
	if rep.Expectations.Straddled > 0 {
		t.Fatalf("stacktest: %d requests straddled a 5-minute boundary", rep.Expectations.Straddled)
	}
	return rep.Expectations
}

// ReadTopic reads every partition of the pipeline's topic from the start,
// without a consumer group, until want records arrived (and then linger
// longer, to catch extra records) or wait passed.
func ReadTopic(t testing.TB, cfg config.Config, want int, wait, linger time.Duration) []kafka.Message {
	t.Helper()
	conn, err := kafka.Dial("tcp", cfg.KafkaBrokers[0])
	if err != nil {
		t.Fatalf("stacktest: kafka: %v", err)
	}
	parts, err := conn.ReadPartitions(cfg.Topic)
	conn.Close()
	if err != nil {
		t.Fatalf("stacktest: partitions of %s: %v", cfg.Topic, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var mu sync.Mutex
	var out []kafka.Message
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.KafkaBrokers, Topic: cfg.Topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					// A fresh topic's partition may answer "leader not
					// available" for a moment under load: keep reading.
					t.Logf("stacktest: read partition %d: %v (retrying)", p.ID, err)
					time.Sleep(200 * time.Millisecond)
					continue
				}
				mu.Lock()
				out = append(out, m)
				full := len(out) == want
				mu.Unlock()
				if full {
					time.AfterFunc(linger, cancel)
				}
			}
		}()
	}
	wg.Wait()
	return out
}
