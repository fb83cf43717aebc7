//go:build chaos

// Chaos tests stop and start real servers; `make test` runs them one at a
// time after the other tests (go test -tags chaos -run Chaos). To run one
// beside other people's tests, point it at a private broker (see
// deploy/local/README.md, "Chaos tests").

package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/nextgen/engine"
)

// TestChaosEngineRidesOutKafkaOutage stops the broker for 20 s while
// trackers send: the engine stays up, resumes when the broker is back, and
// afterwards its documents count every acknowledged event exactly once.
func TestChaosEngineRidesOutKafkaOutage(t *testing.T) {
	p := stacktest.Start(t)
	e := newEnv(t, p.Cfg)
	reg := prometheus.NewRegistry()
	o := engine.DefaultOptions()
	o.Brokers, o.Topic, o.Group = e.cfg.KafkaBrokers, e.cfg.Topic, e.group
	o.Customers, o.Raw, o.ES, o.Ledger = e.customers, e.raw, e.es, e.ledger
	o.FlushInterval, o.DailyFlushInterval, o.SessionTimeout = 200*time.Millisecond, 600*time.Millisecond, 6*time.Second
	o.Registerer = reg
	eng, err := engine.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()

	out := stacktest.KafkaOutage(t, p, reg, 7, 300, 50*time.Second, 5*time.Second, 20*time.Second)
	waitCommitted(t, e.cfg, e.group, 3*time.Minute)
	select {
	case err := <-done:
		t.Fatalf("the engine stopped during the outage: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("engine: %v", err)
	}
	checkLoadgen(t, e, out.Report.Expectations)
	replayed := stacktest.Counter(reg, "brooks_nextgen_records_total") // all outcomes
	t.Logf("nextgen: %d events acknowledged, %v records processed (replays and duplicates included), checked exactly once against loadgen; %v replayed, %v duplicate eids; resumed %v and committed %v after the broker was back; %v retries",
		out.Acknowledged(), replayed, counter(t, reg, "brooks_nextgen_records_total", "replayed"), counter(t, reg, "brooks_nextgen_records_total", "duplicate"),
		out.Resumed.Round(time.Millisecond), out.Committed.Round(time.Millisecond), stacktest.Counter(reg, "brooks_consumer_retries_total"))
	if stacktest.Counter(reg, "brooks_consumer_retries_total") == 0 {
		t.Errorf("no retry counted during the outage")
	}
}
