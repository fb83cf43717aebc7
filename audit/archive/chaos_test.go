//go:build chaos

// Chaos tests stop and start real servers; `make test` runs them one at a
// time after the other tests (go test -tags chaos -run Chaos). To run one
// beside other people's tests, point it at a private broker (see
// deploy/local/README.md, "Chaos tests").

package archive

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// TestChaosArchiveRidesOutKafkaOutage stops the broker for 20 s while
// trackers send: the archiver stays up, resumes when the broker is back,
// and afterwards holds every acknowledged event exactly as often as Kafka
// does.
func TestChaosArchiveRidesOutKafkaOutage(t *testing.T) {
	p := stacktest.Start(t)
	start := time.Now().UTC()
	sink := NewLocalMust(t, t.TempDir())
	group := testenv.Name("archive_chaos")
	o := testOptions(p.Cfg.KafkaBrokers, p.Cfg.Topic, group, sink, nil)
	reg := o.Registerer.(*prometheus.Registry)
	a, stop := runArchiver(t, o)

	out := stacktest.KafkaOutage(t, p, reg, 6, 300, 50*time.Second, 5*time.Second, 20*time.Second)
	seen := waitArchived(t, sink, out.Report.Expectations, start, 2*time.Minute)
	waitCommittedToEnd(t, p.Cfg.KafkaBrokers, p.Cfg.Topic, group, 2*time.Minute)
	if err := a.Ready(t.Context()); err != nil {
		t.Errorf("archiver not ready after the outage: %v", err)
	}
	stop()
	seen, _, parts := archived(t, sink, start, time.Now().Add(time.Hour))
	checkExactlyOnce(t, p.Cfg, seen, out.Report.Expectations)
	total, twice := 0, 0
	for _, n := range seen {
		total += n
		if n > 1 {
			twice++
		}
	}
	t.Logf("archive: %d events acknowledged, %d records archived in %d parts (%d events in Kafka twice by a producer retry, archived as often); resumed %v and committed %v after the broker was back; %v retries",
		out.Acknowledged(), total, parts, twice, out.Resumed.Round(time.Millisecond), out.Committed.Round(time.Millisecond), stacktest.Counter(reg, "brooks_consumer_retries_total"))
	if stacktest.Counter(reg, "brooks_consumer_retries_total") == 0 {
		t.Errorf("no retry counted during the outage")
	}
}
