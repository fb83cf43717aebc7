package stacktest

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

// Stack runs deploy/local/stack.sh with args (for example "down", "kafka").
// It inherits the environment, so BROOKS_STATE, BROOKS_KAFKA_PORT and
// BROOKS_KAFKA_CONTROLLER_PORT choose which broker a chaos test stops: run
// chaos tests against a private broker (see deploy/local/README.md) when
// others share the default one.
func Stack(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.RepoRoot(t), "deploy/local/stack.sh"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stack.sh %v: %v\n%s", args, err, out)
	}
	t.Logf("stack.sh %v:\n%s", args, out)
}

// Outage is what a chaos run measured.
type Outage struct {
	Report *loadgen.Report
	// Down and Up are when the broker was stopped and healthy again.
	Down, Up time.Time
	// Resumed is how long after Up the component handled a record again
	// (brooks_consumer_records_total moved past its value while the broker
	// was down); Committed, how long until it committed again
	// (brooks_consumer_commits_total). Negative: before stack.sh saw the
	// broker healthy.
	Resumed, Committed time.Duration
}

// KafkaOutage sends loadgen traffic through p for sendFor while, after
// `after`, the Kafka broker is stopped for `down` and started again. reg
// is the component's registry (its tee.Consumer's metrics). It fails the
// test if an event was never acknowledged or the component did not resume
// within two minutes of the broker's return.
func KafkaOutage(t *testing.T, p *Pipeline, reg prometheus.Gatherer, seed uint64, rate float64, sendFor, after, down time.Duration) *Outage {
	t.Helper()
	t.Cleanup(func() { Stack(t, "up", "kafka") }) // whatever happens
	sent := make(chan *loadgen.Report, 1)
	go func() {
		rep, err := loadgen.Run(context.Background(), loadgen.Options{
			Target: p.URL, Seed: seed, Duration: sendFor, Rate: rate, Batch: 10, Concurrency: 4, MaxRetries: 400,
		})
		if err != nil {
			t.Error(err)
		}
		sent <- rep
	}()
	time.Sleep(after)
	o := &Outage{Down: time.Now()}
	Stack(t, "down", "kafka")
	records, commits := Counter(reg, "brooks_consumer_records_total"), Counter(reg, "brooks_consumer_commits_total")
	time.Sleep(down)
	Stack(t, "up", "kafka")
	o.Up = time.Now()
	var rec, com time.Time
	for deadline := time.Now().Add(2 * time.Minute); rec.IsZero() || com.IsZero(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the component did not resume within 2m of the broker's return (records moved: %v, commits moved: %v)", !rec.IsZero(), !com.IsZero())
		}
		if rec.IsZero() && Counter(reg, "brooks_consumer_records_total") > records {
			rec = time.Now()
		}
		if com.IsZero() && Counter(reg, "brooks_consumer_commits_total") > commits {
			com = time.Now()
		}
	}
	o.Resumed, o.Committed = rec.Sub(o.Up), com.Sub(o.Up)
	o.Report = <-sent
	if o.Report == nil {
		t.FailNow()
	}
	if o.Report.Failed > 0 {
		t.Fatalf("%d events never acknowledged after Kafka came back: %v", o.Report.Failed, o.Report.Rejected)
	}
	return o
}

// Acknowledged is the number of events the collector acknowledged.
func (o *Outage) Acknowledged() int {
	n := 0
	for _, c := range o.Report.Expectations.Sent {
		n += c
	}
	return n
}

// Counter sums every series of the counter name in reg.
func Counter(reg prometheus.Gatherer, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
