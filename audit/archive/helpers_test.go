package archive

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/pixel"
)

// ledgerKeyspace returns a fresh migrated keyspace name for one test and
// a store on it.
func ledgerKeyspace(t *testing.T) (string, *ledger.Store) {
	t.Helper()
	cfg := testenv.Require(t, testenv.Cassandra)
	ks := testenv.Name("archive")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	s, err := cass.Connect(cfg.CassandraHosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
		s.Close()
	})
	if err := ledger.Migrate(ctx, s, ks); err != nil {
		t.Fatal(err)
	}
	return ks, ledger.NewStore(s, ks)
}

// archived reads every closed part of the archive (hours around now) and
// counts each event id; it also sums the manifests' tallies per customer.
func archived(t testing.TB, sink Sink, from, to time.Time) (seen map[string]int, perCustomer map[string]ledger.Tally, parts int) {
	t.Helper()
	ctx := context.Background()
	seen = map[string]int{}
	perCustomer = map[string]ledger.Tally{}
	customers, err := Customers(ctx, sink)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range customers {
		mans, _, err := Manifests(ctx, sink, c, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mans {
			parts++
			tl, err := m.Tally()
			if err != nil {
				t.Fatal(err)
			}
			cur := perCustomer[c]
			cur.Merge(tl)
			perCustomer[c] = cur
			err = ReadPart(ctx, sink, m, func(v []byte) error {
				ev, err := pixel.Unmarshal(v)
				if err != nil {
					return err
				}
				seen[ev.EID]++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return seen, perCustomer, parts
}

// waitArchived polls until the archive holds every expected event id (or
// timeout), then returns what it holds.
func waitArchived(t *testing.T, sink Sink, exp *loadgen.Expectations, from time.Time, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		seen, _, _ := archived(t, sink, from, time.Now().Add(time.Hour))
		missing := 0
		for _, ids := range exp.EIDs {
			for _, id := range ids {
				if seen[id] == 0 {
					missing++
				}
			}
		}
		if missing == 0 {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the archive still lacks %d acknowledged events", timeout, missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkExactlyOnce fails unless seen holds every expected event id exactly
// once and nothing else.
func checkExactlyOnce(t *testing.T, cfg config.Config, seen map[string]int, exp *loadgen.Expectations) {
	t.Helper()
	// The archive must hold each record exactly as often as Kafka does. A
	// producer retry under load can write an acknowledged event to Kafka
	// twice (at-least-once; consumers count an eid once): such an event is
	// expected twice in the archive too.
	var inKafka map[string]int
	kafkaCount := func(id string) int {
		if inKafka == nil {
			inKafka = map[string]int{}
			total := 0
			for _, n := range exp.Sent {
				total += n
			}
			for _, m := range stacktest.ReadTopic(t, cfg, total, time.Minute, 2*time.Second) {
				e, err := pixel.Unmarshal(m.Value)
				if err == nil {
					inKafka[e.EID]++
				}
			}
		}
		return inKafka[id]
	}
	want := map[string]bool{}
	for _, ids := range exp.EIDs {
		for _, id := range ids {
			want[id] = true
		}
	}
	var missing, doubled, extra int
	for id := range want {
		switch n := seen[id]; {
		case n == 0:
			missing++
		case n > 1 && n > kafkaCount(id):
			doubled++
		case n > 1:
			t.Logf("event %s is in Kafka %d times (a producer retry), archived as often", id, n)
		}
	}
	for id := range seen {
		if !want[id] {
			extra++
		}
	}
	if missing+doubled+extra > 0 {
		t.Errorf("archive vs acknowledged: %d missing, %d archived more often than Kafka holds them, %d never acknowledged (of %d)", missing, doubled, extra, len(want))
	}
}

// tallyOf is the ledger tally of event ids.
func tallyOf(ids []string) ledger.Tally {
	var t ledger.Tally
	for _, id := range ids {
		t.Add(id)
	}
	return t
}

// checkCommittedToEnd fails unless the group committed every partition's
// end offset.
func checkCommittedToEnd(t *testing.T, brokers []string, topic, group string) {
	t.Helper()
	if err := committedToEnd(brokers, topic, group); err != nil {
		t.Error(err)
	}
}

// waitCommittedToEnd waits until the group committed every partition's end.
func waitCommittedToEnd(t testing.TB, brokers []string, topic, group string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := committedToEnd(brokers, topic, group)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func committedToEnd(brokers []string, topic, group string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 {
		return fmt.Errorf("metadata of %s: %v", topic, err)
	}
	var ids []int
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		ids = append(ids, p.ID)
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return err
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return err
	}
	end := map[int]int64{}
	for _, po := range ends.Topics[topic] {
		end[po.Partition] = po.LastOffset
	}
	var behind []string
	for _, po := range committed.Topics[topic] {
		if e := end[po.Partition]; e > 0 && po.CommittedOffset != e {
			behind = append(behind, fmt.Sprintf("partition %d committed %d of %d", po.Partition, po.CommittedOffset, e))
		}
	}
	if len(behind) > 0 {
		return fmt.Errorf("group %s not committed to the end: %s", group, strings.Join(behind, ", "))
	}
	return nil
}
