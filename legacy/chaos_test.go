//go:build chaos

// Chaos tests stop and start real servers; `make test` runs them one at a
// time after the other tests (go test -tags chaos -run Chaos). To run one
// beside other people's tests, point it at a private broker (see
// deploy/local/README.md, "Chaos tests").

package legacy

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

// TestChaosIngestRidesOutKafkaOutage stops the broker for 20 s while
// trackers send: the ingester stays up, resumes when the broker is back,
// and afterwards legacy counts every acknowledged page view, some possibly
// twice (its documented at-least-once: records flushed but not committed
// when the broker went away are read again), never more than it read twice.
func TestChaosIngestRidesOutKafkaOutage(t *testing.T) {
	p := stacktest.Start(t)
	s, _ := newTestStore(t, Options{})
	api := newTestAPI(t, s)
	reg := prometheus.NewRegistry()
	o := DefaultIngestOptions()
	o.Brokers, o.Topic, o.Group, o.Customers = p.Cfg.KafkaBrokers, p.Cfg.Topic, testenv.Name("legacy_chaos"), testenv.Customers(t)
	o.FlushInterval, o.Registerer = 300*time.Millisecond, reg
	in, err := NewIngester(s, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()

	out := stacktest.KafkaOutage(t, p, reg, 5, 300, 50*time.Second, 5*time.Second, 20*time.Second)
	kafka := len(stacktest.ReadTopic(t, p.Cfg, out.Acknowledged(), time.Minute, 2*time.Second))
	wait := testenv.Context(t, 3*time.Minute)
	for st := in.Stats(); (st.Records < int64(kafka) || st.Committed < st.Records) && wait.Err() == nil; st = in.Stats() {
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the ingester stopped during the outage: %v", err)
	default:
	}
	var want, got float64
	for _, c := range testCustomerIDs {
		e := expectations(t, []*loadgen.Expectations{out.Report.Expectations}, c)
		want += e.total()
		n, err := totalPageviews(wait, api, e)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ingester: %v", err)
	}
	st := in.Stats()
	reread := st.Records - int64(kafka)
	t.Logf("legacy: %d events acknowledged, %d records in Kafka, %d read (%d twice); %v post page views expected, %v counted (%v doubled); resumed %v and committed %v after the broker was back",
		out.Acknowledged(), kafka, st.Records, reread, want, got, got-want, out.Resumed.Round(time.Millisecond), out.Committed.Round(time.Millisecond))
	if got < want {
		t.Errorf("legacy counts %v page views, want at least the %v acknowledged", got, want)
	}
	if got-want > float64(max(reread, 0)) {
		t.Errorf("legacy counts %v page views twice, more than the %d records it read twice", got-want, reread)
	}
	if retries := stacktest.Counter(reg, "brooks_consumer_retries_total"); retries == 0 {
		t.Errorf("no retry counted during the outage")
	}
}
