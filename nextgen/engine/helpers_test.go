package engine_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/nextgen/engine"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
	"github.com/brooksdata/brooks/shadow/collector"
	"github.com/brooksdata/brooks/shadow/tee"
)

// env is one test's nextgen storage: a fresh keyspace, index prefix and
// consumer group on the real servers, removed when the test ends.
type env struct {
	cfg       config.Config
	es        *esindex.Client
	raw       *rawstore.Store
	customers *pixel.Customers
	group     string
	ledger    *ledger.Store // raw and rollup stages, in the test keyspace
}

// newEnv prepares storage for cfg's topic (creating the topic when
// cfg.Topic is empty).
func newEnv(t testing.TB, cfg config.Config) *env {
	t.Helper()
	testenv.Require(t, testenv.Kafka, testenv.Cassandra, testenv.Elasticsearch)
	ctx := testenv.Context(t, 2*time.Minute)
	if cfg.Topic == "" || cfg.Topic == config.Default().Topic {
		cfg.Topic = testenv.Name("ngpixels")
		if err := (tee.Topic{Brokers: cfg.KafkaBrokers, Name: cfg.Topic, Partitions: cfg.TopicPartitions}).Ensure(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Keyspace = testenv.Name("ngraw")
	cfg.IndexPrefix = testenv.Name("ngidx")
	if err := rawstore.Migrate(ctx, cfg.CassandraHosts, cfg.Keyspace, 1); err != nil {
		t.Fatal(err)
	}
	es, err := esindex.Open(cfg.ElasticURL, cfg.IndexPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := es.EnsureTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := rawstore.Open(cfg.CassandraHosts, cfg.Keyspace, rawstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := cass.Connect(cfg.CassandraHosts, cfg.Keyspace)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Migrate(ctx, ls, cfg.Keyspace); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ls.Close()
		raw.Close()
		if err := es.DeleteAll(context.Background()); err != nil {
			t.Logf("cleanup indices: %v", err)
		}
		if s, err := cass.Connect(cfg.CassandraHosts, ""); err == nil {
			_ = s.Query("DROP KEYSPACE IF EXISTS " + cfg.Keyspace).Exec()
			s.Close()
		}
	})
	return &env{cfg: cfg, es: es, raw: raw, customers: testenv.Customers(t), group: testenv.Name("nextgen"),
		ledger: ledger.NewStore(ls, cfg.Keyspace)}
}

// start runs an engine in this process until the returned stop is called
// (stop waits for the clean shutdown and fails the test on an error).
func (e *env) start(t testing.TB, tune func(*engine.Options)) (*engine.Engine, func()) {
	t.Helper()
	o := engine.DefaultOptions()
	o.Brokers, o.Topic, o.Group = e.cfg.KafkaBrokers, e.cfg.Topic, e.group
	o.Customers, o.Raw, o.ES, o.Ledger = e.customers, e.raw, e.es, e.ledger
	o.FlushInterval = 200 * time.Millisecond
	o.DailyFlushInterval = 600 * time.Millisecond
	o.SessionTimeout = 6 * time.Second
	if tune != nil {
		tune(&o)
	}
	eng, err := engine.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	}
	t.Cleanup(stop)
	return eng, stop
}

// endOffsets returns the end offset of every partition of the topic.
func endOffsets(t testing.TB, cfg config.Config) map[int]int64 {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...), Timeout: 10 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for p := range cfg.TopicPartitions {
		req.Topics[cfg.Topic] = append(req.Topics[cfg.Topic], kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(context.Background(), req)
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	out := map[int]int64{}
	for _, po := range res.Topics[cfg.Topic] {
		if po.Error != nil {
			t.Fatalf("list offsets of partition %d: %v", po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out
}

// groupOffsets returns the group's committed offsets (absent: none).
func groupOffsets(t testing.TB, cfg config.Config, group string) map[int]int64 {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...), Timeout: 10 * time.Second}
	parts := make([]int, cfg.TopicPartitions)
	for i := range parts {
		parts[i] = i
	}
	res, err := client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{cfg.Topic: parts}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[cfg.Topic] {
		if p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out
}

// waitCommitted waits until the group has committed the end of every
// non-empty partition.
func waitCommitted(t testing.TB, cfg config.Config, group string, wait time.Duration) {
	t.Helper()
	end := endOffsets(t, cfg)
	deadline := time.Now().Add(wait)
	for {
		got := groupOffsets(t, cfg, group)
		behind := 0
		for p, off := range end {
			if off > 0 && got[p] < off {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not catch up in %v: committed %v, end %v", group, wait, got, end)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cells reads every stored document of g, tuple and site documents (after
// a refresh), and merges the partitions: the result is keyed like a batch
// rollup with partition 0.
func (e *env) cells(t testing.TB, g rollup.Granularity) map[rollup.Key]*rollup.Cell {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	if err := e.es.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	out := map[rollup.Key]*rollup.Cell{}
	for _, f := range esindex.Families {
		err := e.es.Scan(ctx, rollup.DefaultRegistry, g, esindex.Filter{Family: f}, func(c *rollup.Cell) error {
			if c.Key.Site() != (f == esindex.Sites) {
				return fmt.Errorf("a cell of key %+v in the %q family's indices", c.Key, f)
			}
			k := c.Key
			k.Partition = 0
			m := out[k]
			if m == nil {
				m = rollup.DefaultRegistry.NewCell(k)
				out[k] = m
			}
			m.Merge(c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// produce writes events to the topic keyed by customer, like the collector.
func produce(t testing.TB, cfg config.Config, events []pixel.Event) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(cfg.KafkaBrokers...), Topic: cfg.Topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, 0, 1000)
	for i := range events {
		v, err := events[i].Marshal()
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(events[i].Customer), Value: v})
		if len(msgs) == cap(msgs) || i == len(events)-1 {
			if err := w.WriteMessages(context.Background(), msgs...); err != nil {
				t.Fatalf("produce: %v", err)
			}
			msgs = msgs[:0]
		}
	}
}

// generate makes n events with loadgen's generator and the collector's
// event builder, received at the given times (spread over span from at).
func generate(t testing.TB, seed uint64, n int, at time.Time, span time.Duration) []pixel.Event {
	t.Helper()
	g := loadgen.NewGenerator(seed, loadgen.DefaultProfiles(), 3000)
	cs := testenv.Customers(t)
	out := make([]pixel.Event, n)
	for i := range out {
		p := g.Next()
		rt := at.Add(time.Duration(int64(span) * int64(i) / int64(n)))
		e, rej := collector.BuildEvent(p, rt, "", p["ua"], cs)
		if rej != nil {
			t.Fatalf("build event: %v", rej)
		}
		out[i] = e
	}
	return out
}

// compareCells checks that stored cells equal want exactly: every Sum
// metric and every visitor set, and no extra or missing cell.
func compareCells(t testing.TB, what string, got, want map[rollup.Key]*rollup.Cell) {
	t.Helper()
	reg := rollup.DefaultRegistry
	if len(want) == 0 {
		t.Fatalf("%s: nothing expected: the test checks nothing", what)
	}
	t.Logf("%s: comparing %d stored cells with %d expected", what, len(got), len(want))
	bad := 0
	report := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(what+": "+format, args...)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(want), rollup.CompareKeys) {
		w, g := want[k], got[k]
		if g == nil {
			report("missing cell %s %v %q", k.Customer, k.BucketStart(), w.Dims())
			continue
		}
		for _, m := range reg.Metrics() {
			switch m.Kind {
			case rollup.Sum:
				if g.Sum(m.Name) != w.Sum(m.Name) {
					report("%s %v %q: %s = %d, want %d", k.Customer, k.BucketStart(), w.Dims(), m.Name, g.Sum(m.Name), w.Sum(m.Name))
				}
			case rollup.Distinct:
				if !slices.Equal(g.Set(m.Name), w.Set(m.Name)) {
					report("%s %v %q: %s has %d members, want %d", k.Customer, k.BucketStart(), w.Dims(), m.Name, g.Count(m.Name), w.Count(m.Name))
				}
			}
		}
	}
	for k, g := range got {
		if want[k] == nil {
			report("extra cell %s %v %q pageviews %d", k.Customer, k.BucketStart(), g.Dims(), g.Sum("pageviews"))
		}
	}
	if bad > 10 {
		t.Errorf("%s: %d differences in all", what, bad)
	}
}

// batchCells is the batch rollup of events (partition 0, eids
// deduplicated), tuple and site cells.
func batchCells(t testing.TB, events []pixel.Event, g rollup.Granularity) map[rollup.Key]*rollup.Cell {
	t.Helper()
	r := rollup.New(testenv.Customers(t), rollup.Options{Granularities: []rollup.Granularity{g}, Sites: true})
	for i := range events {
		if err := r.Add(0, rollup.NoOffset, &events[i]); err != nil {
			t.Fatal(err)
		}
	}
	out := map[rollup.Key]*rollup.Cell{}
	for _, c := range r.Cells() {
		out[c.Key] = c
	}
	return out
}

func sumMap(m map[int]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

var _ = fmt.Sprintf

// checkLedger compares the raw and rollup stages the engine recorded in
// the ledger with the collector's tallies of the acknowledged events, per
// customer and hour; it returns the events the collector counted.
func checkLedger(t *testing.T, e *env, collector *ledger.Accumulator, from, to time.Time) int64 {
	t.Helper()
	want := collector.Drain()
	defer collector.Restore(want)
	ctx := testenv.Context(t, time.Minute)
	var n int64
	for _, c := range e.customers.IDs() {
		hours, err := e.ledger.Read(ctx, c, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
			w := want[ledger.Key{Customer: c, Hour: h}]
			n += w.Count
			for _, stage := range []string{ledger.StageRaw, ledger.StageRollup} {
				if got := hours[h][stage]; got != w {
					t.Errorf("ledger %s %s %s: %+v, collector %+v", stage, c, h.Format(time.RFC3339), got, w)
				}
			}
			if w.Count > 0 {
				if hours[h] == nil {
					hours[h] = map[string]ledger.Tally{}
				}
				hours[h][ledger.StageCollector] = w
			}
		}
		// The engine's zero-count rows (hours and customers around its
		// records) must not read as findings.
		r := ledger.Compare(c, hours, from, to, to.Add(24*time.Hour), 0)
		for _, hr := range r.Hours {
			for _, f := range hr.Findings {
				t.Errorf("ledger.Compare %s %s: %s", c, hr.Hour.Format(time.RFC3339), f.Message)
			}
		}
	}
	return n
}
