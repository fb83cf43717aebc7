//go:build chaos

// Chaos tests stop and start real servers; `make test` runs them one at a
// time after the other tests (go test -tags chaos -run Chaos).

package collector_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

func stack(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.RepoRoot(t), "deploy/local/stack.sh"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stack.sh %v: %v\n%s", args, err, out)
	}
	t.Logf("stack.sh %v:\n%s", args, out)
}

func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestChaosKafkaDown stops Kafka while trackers send: the collector must
// answer 503 with Retry-After (never 2xx) while Kafka is away, recover when
// it is back, and every acknowledged event must be in the topic.
func TestChaosKafkaDown(t *testing.T) {
	p := stacktest.Start(t)
	t.Cleanup(func() { stack(t, "up", "kafka") })
	start := time.Now()
	sink, stopArchiver := runArchiver(t, p.Cfg.KafkaBrokers, p.Cfg.Topic)

	done := make(chan *loadgen.Report, 1)
	go func() {
		rep, err := loadgen.Run(context.Background(), loadgen.Options{
			Target: p.URL, Seed: 99, Duration: 25 * time.Second, Rate: 400, Batch: 10, Concurrency: 4, MaxRetries: 200,
		})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	time.Sleep(3 * time.Second)
	stack(t, "down", "kafka")
	// While Kafka is down, pixels get 503 with Retry-After.
	resp, err := http.Get(p.URL + "/i?aid=acme.example&e=pv&eid=while-down")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with Kafka down: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	time.Sleep(3 * time.Second)
	stack(t, "up", "kafka")
	rep := <-done
	if rep.Failed > 0 {
		t.Fatalf("%d events never acknowledged after Kafka came back: %v", rep.Failed, rep.Rejected)
	}
	if rep.Retries == 0 || metric(t, p.URL, "brooks_collector_unavailable_total") == 0 {
		t.Errorf("no 503 seen while Kafka was down (retries %d)", rep.Retries)
	}
	want := 0
	for _, n := range rep.Expectations.Sent {
		want += n
	}
	got := map[string]int{}
	for _, m := range stacktest.ReadTopic(t, p.Cfg, want, 60*time.Second, 2*time.Second) {
		got[string(m.Key)+"/"+eidOf(t, m.Value)]++
	}
	dups := 0
	for cust, eids := range rep.Expectations.EIDs {
		for _, id := range eids {
			switch n := got[cust+"/"+id]; {
			case n == 0:
				t.Fatalf("acknowledged event %s of %s is not in Kafka", id, cust)
			case n > 1:
				dups++
			}
		}
	}
	t.Logf("%d events acknowledged, %d retries, %d written twice by a retry (counted once downstream by eid)", want, rep.Retries, dups)

	// The archive holds every acknowledged event, exactly as often as Kafka
	// does: once, unless a retry wrote it twice (then nextgen and the audit
	// count it once by eid, and the ledger shows the double).
	total := 0
	for _, n := range got {
		total += n
	}
	var archived map[string]int
	for deadline := time.Now().Add(90 * time.Second); ; {
		archived = readArchive(t, sink, start)
		n := 0
		for _, c := range archived {
			n += c
		}
		if n >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	stopArchiver()
	archived = readArchive(t, sink, start)
	for cust, eids := range rep.Expectations.EIDs {
		for _, id := range eids {
			k := cust + "/" + id
			if archived[k] != got[k] {
				t.Fatalf("event %s: %d times in the archive, %d in Kafka", k, archived[k], got[k])
			}
		}
	}
	if len(archived) != len(got) {
		t.Errorf("archive holds %d distinct events, Kafka %d", len(archived), len(got))
	}
}

// readArchive counts the archived records per customer/eid.
func readArchive(t *testing.T, sink *archive.Local, since time.Time) map[string]int {
	t.Helper()
	archived := map[string]int{}
	for _, cust := range testenv.Customers(t).IDs() {
		mans, _, err := archive.Manifests(context.Background(), sink, cust, since.Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mans {
			err := archive.ReadPart(context.Background(), sink, m, func(line []byte) error {
				archived[cust+"/"+eidOf(t, line)]++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return archived
}

// runArchiver archives the topic into a temporary folder until the
// returned stop function is called.
func runArchiver(t *testing.T, brokers []string, topic string) (*archive.Local, func()) {
	t.Helper()
	sink, err := archive.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := archive.DefaultOptions()
	o.Brokers, o.Topic, o.Sink = brokers, topic, sink
	o.Group = testenv.Name("archive")
	o.RollInterval = time.Second
	o.LedgerReplay = -1
	a, err := archive.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			time.Sleep(3 * time.Second) // a roll interval or two for the last records
			cancel()
			if err := <-done; err != nil {
				t.Errorf("archiver: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return sink, stop
}
