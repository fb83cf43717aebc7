// Package bench runs the whole-platform benchmark behind `make bench` and
// `bin/brooks bench platform`: it starts every Brooks component (collector,
// archive, legacy ingest and serve, nextgen engine and serve) on its own
// ports, consumer groups and a fresh topic, drives loadgen at full speed for
// a set duration, waits until every consumer has drained, and reports one
// table: accepted events/s, each consumer's sustained rate, final lag and
// drain time, freshness p50/p99 per system, CPU µs per accepted event per
// process (Brooks and the servers; loadgen apart), and query p50/p99 per
// system for the standard shapes of shadow/matrix.
//
//	res, err := bench.Run(ctx, bench.DefaultOptions())
//	res.WriteMarkdown(os.Stdout)
//
// Its stores are the bench's own (keyspace, index prefix, Mongo database,
// Redis key prefix), so benchmark traffic never mixes with the demo's.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options configure a run.
type Options struct {
	// Binary is the brooks binary every component and loadgen run as.
	Binary string
	// StateDir is the local stack's state folder (BROOKS_STATE): the
	// servers' pid files are under it and the report goes to StateDir/bench.
	StateDir string
	// Duration is how long loadgen sends (default 40s).
	Duration time.Duration
	// Batch and Concurrency are loadgen's events per request and requests
	// in flight (100 and 8).
	Batch, Concurrency int
	// BasePort offsets every component's port: collector BasePort+80,
	// legacy serve +81, nextgen serve +82, legacy ingest +181, archive
	// +183, nextgen run +184 (default 18000: 18080, ...).
	BasePort int
	// Keyspace and IndexPrefix start the names of the run's own Cassandra
	// keyspace and Elasticsearch indices (<prefix>_<run>, <prefix>-<run>),
	// new every run like the topic and the consumer groups, and dropped at
	// the end: nextgen's eid memory reads back the partition's recent hours
	// (past its prime limit the engine looks eids up one by one: measured
	// over shared stores, nextgen fell to 2,929 records/s), and its rollup
	// documents carry Kafka offset watermarks a fresh topic's offsets would
	// be compared with. MongoDatabase and RedisPrefix are
	// the bench's legacy stores, shared by runs (legacy's counters only
	// add).
	Keyspace, IndexPrefix, MongoDatabase, RedisPrefix string
	// CassandraHosts and ElasticURL are where the run's keyspace and
	// indices are dropped.
	CassandraHosts []string
	ElasticURL     string
	// WarmupEvents are sent at 500/s before the measurement, which starts
	// once every consumer has committed them (default 2000; 0: none).
	WarmupEvents int
	// DrainTimeout is the longest wait for every consumer to drain after
	// loadgen ends (default 5m).
	DrainTimeout time.Duration
	// ProbeInterval is how often a freshness probe is sent (default 1s);
	// PollInterval how often each query API is asked for pending probes
	// (default 200ms).
	ProbeInterval, PollInterval time.Duration
	// QueryReps is how many times each standard shape is asked of each
	// system after the drain (default 20; 0: no query benchmark).
	QueryReps int
	// KeepTopic keeps the run's topic and archive (default: deleted).
	KeepTopic bool
	// KafkaBrokers and Partitions are the Kafka cluster and the run's
	// topic's partitions (migrate creates it with BROOKS_TOPIC_PARTITIONS).
	KafkaBrokers []string
	Partitions   int
	// Env is added to every child's environment (BROOKS_* settings).
	Env []string
	// Logger gets progress; nil is silent.
	Logger *slog.Logger
}

// DefaultOptions returns the scenario: 40 s at full speed in
// batches of 100, 8 in flight.
func DefaultOptions() Options {
	return Options{
		Binary:         "bin/brooks",
		StateDir:       ".brooks",
		Duration:       40 * time.Second,
		Batch:          100,
		Concurrency:    8,
		BasePort:       18000,
		Keyspace:       "brooks_bench",
		IndexPrefix:    "brooks-bench",
		MongoDatabase:  "brooks_bench",
		RedisPrefix:    "bench:",
		DrainTimeout:   5 * time.Minute,
		WarmupEvents:   2000,
		ProbeInterval:  time.Second,
		PollInterval:   200 * time.Millisecond,
		QueryReps:      20,
		KafkaBrokers:   []string{"127.0.0.1:9092"},
		CassandraHosts: []string{"127.0.0.1"},
		ElasticURL:     "http://127.0.0.1:9200",
		Partitions:     6,
	}
}

// Validate reports every bad setting at once.
func (o Options) Validate() error {
	var errs []error
	if o.Binary == "" {
		errs = append(errs, errors.New("binary is required"))
	}
	if o.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration %v: want > 0", o.Duration))
	}
	if o.Batch <= 0 || o.Concurrency <= 0 {
		errs = append(errs, fmt.Errorf("batch %d, concurrency %d: want > 0", o.Batch, o.Concurrency))
	}
	if o.BasePort <= 0 || o.BasePort+200 > 65535 {
		errs = append(errs, fmt.Errorf("base port %d: want 1..65335", o.BasePort))
	}
	if o.WarmupEvents < 0 {
		errs = append(errs, fmt.Errorf("warm-up events %d: want >= 0", o.WarmupEvents))
	}
	if o.ProbeInterval <= 0 || o.PollInterval <= 0 || o.DrainTimeout <= 0 {
		errs = append(errs, errors.New("probe, poll and drain intervals must be > 0"))
	}
	if len(o.KafkaBrokers) == 0 || o.Partitions <= 0 {
		errs = append(errs, errors.New("kafka brokers and partitions are required"))
	}
	if o.Keyspace == "" || o.IndexPrefix == "" || o.MongoDatabase == "" || o.RedisPrefix == "" {
		errs = append(errs, errors.New("keyspace, index prefix, mongo database and redis prefix are required"))
	}
	return errors.Join(errs...)
}

// Run runs the scenario and returns its result, or an error and no result
// when the run did not finish; it stops every process it started, whatever
// happens.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id := time.Now().UTC().Format("20060102t150405")
	dir, err := filepath.Abs(filepath.Join(o.StateDir, "bench", "run-"+id))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	token, err := writeToken(dir)
	if err != nil {
		return nil, err
	}
	st := &stack{
		bin: o.Binary, dir: dir, token: token, base: o.BasePort, log: log,
		topic: "brooks.bench." + id, groupPrefix: "brooks-bench-" + id,
		env: append(append([]string{}, o.Env...),
			"BROOKS_KEYSPACE="+o.Keyspace+"_"+id,
			"BROOKS_INDEX_PREFIX="+o.IndexPrefix+"-"+id,
			"BROOKS_MONGO_DATABASE="+o.MongoDatabase,
			"BROOKS_ARCHIVE_DIR="+filepath.Join(dir, "archive"),
			"BROOKS_API_TOKENS_FILE="+filepath.Join(dir, "tokens"),
			"BROOKS_STATE="+o.StateDir,
			"BROOKS_TOPIC_PARTITIONS="+strconv.Itoa(o.Partitions),
		),
		redisPrefix: o.RedisPrefix, brokers: o.KafkaBrokers, partitions: o.Partitions,
		keyspace: o.Keyspace + "_" + id, indexPrefix: o.IndexPrefix + "-" + id,
		cassandra: o.CassandraHosts, elastic: o.ElasticURL,
	}
	st.env = append(st.env, "BROOKS_TOPIC="+st.topic)
	defer func() {
		st.stop()
		if !o.KeepTopic {
			st.cleanup(context.WithoutCancel(ctx))
		}
	}()
	res := &Result{ID: id, Started: time.Now().UTC(), Topic: st.topic, Machine: describeMachine(), Options: o.public()}
	if err := st.migrate(ctx); err != nil {
		return nil, err
	}
	if err := st.start(ctx); err != nil {
		return nil, err
	}
	if err := st.waitAssigned(ctx, 2*time.Minute); err != nil {
		return nil, err
	}
	if err := measure(ctx, o, st, res); err != nil {
		return nil, err
	}
	return res, nil
}

// writeToken writes a fresh API token, the only line of dir/tokens: every
// component's /metrics and query API require it.
func writeToken(dir string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("bench: token: %w", err)
	}
	t := "bench-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(filepath.Join(dir, "tokens"), []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("bench: token: %w", err)
	}
	return t, nil
}

// describeMachine is the machine line of the report: cores, memory, kernel.
func describeMachine() Machine {
	m := Machine{Cores: numCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			var kb int64
			if _, err := fmt.Sscanf(l, "MemTotal: %d kB", &kb); err == nil {
				m.MemoryGiB = float64(kb) / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
