package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP brooks_consumer_records_total Records handed to the component.
# TYPE brooks_consumer_records_total counter
brooks_consumer_records_total{group="g1"} 1234
brooks_consumer_records_total{group="g2"} 6
brooks_collector_accepted_total{customer="acme.example"} 1e+06
brooks_collector_accepted_total{customer="globex.example"} 5
go_goroutines 12
odd{path="a \"quoted\", comma",x="y"} 2.5 1700000000000
`
	ms, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"brooks_consumer_records_total", nil, 1240},
		{"brooks_consumer_records_total", map[string]string{"group": "g1"}, 1234},
		{"brooks_consumer_records_total", map[string]string{"group": "g3"}, 0},
		{"brooks_collector_accepted_total", nil, 1000005},
		{"go_goroutines", nil, 12},
		{"odd", map[string]string{"path": `a "quoted", comma`, "x": "y"}, 2.5},
		{"missing", nil, 0},
	}
	for _, tt := range tests {
		if got := ms.sum(tt.name, tt.labels); got != tt.want {
			t.Errorf("sum(%s, %v) = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, bad := range []string{"novalue", `x{a="b"}`, `x{a="b" 1`, `x{a=b} 1`, "x notanumber"} {
		if _, err := parseMetrics(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("parseMetrics(%q): no error", bad)
		}
	}
}

func TestPartitionLag(t *testing.T) {
	tests := []struct {
		name                   string
		first, last, committed int64
		want                   int64
	}{
		{"caught up", 0, 100, 100, 0},
		{"behind", 0, 100, 40, 60},
		{"nothing committed", 0, 100, -1, 100},
		{"nothing committed, truncated log", 30, 100, -1, 70},
		{"empty partition, nothing committed", 0, 0, -1, 0},
		{"first offset unknown (-1)", -1, 0, -1, 0},
		{"committed past the end", 0, 10, 12, 0},
	}
	for _, tt := range tests {
		if got := partitionLag(tt.first, tt.last, tt.committed); got != tt.want {
			t.Errorf("%s: partitionLag(%d, %d, %d) = %d, want %d", tt.name, tt.first, tt.last, tt.committed, got, tt.want)
		}
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line string
		want time.Duration
		ok   bool
	}{
		{"4946 (java) S 1 4946 4946 0 -1 4194560 1 0 0 0 1500 250 0 0 20 0 80 0 100 1 1", 17500 * time.Millisecond, true},
		{"77 (a (weird) name) R 1 77 77 0 -1 0 0 0 0 0 3 2 0 0 20 0 1 0 1 1 1", 50 * time.Millisecond, true},
		{"77 (short) R 1 2 3", 0, false},
		{"no parens at all", 0, false},
		{"77 (x) R 1 77 77 0 -1 0 0 0 0 0 a b 0 0 20 0 1 0 1 1 1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseStat(tt.line)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseStat(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Millisecond)
	}
	tests := []struct {
		ds   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ds, 0.5, 50 * time.Millisecond},
		{ds, 0.99, 99 * time.Millisecond},
		{ds, 1, 100 * time.Millisecond},
		{ds[:1], 0.99, 100 * time.Millisecond},
		{[]time.Duration{3, 1, 2}, 0.5, 2},
	}
	for _, tt := range tests {
		if got := percentile(tt.ds, tt.q); got != tt.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.ds), tt.q, got, tt.want)
		}
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile reordered its input")
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 15679.4: "15,679", 154585: "154,585", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
		want   string // "" valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"no duration", func(o *Options) { o.Duration = 0 }, "duration"},
		{"no batch", func(o *Options) { o.Batch = 0 }, "batch"},
		{"port too high", func(o *Options) { o.BasePort = 65500 }, "base port"},
		{"no brokers", func(o *Options) { o.KafkaBrokers = nil }, "kafka brokers"},
		{"no redis prefix", func(o *Options) { o.RedisPrefix = "" }, "redis prefix"},
	}
	for _, tt := range tests {
		o := DefaultOptions()
		tt.change(&o)
		err := o.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one naming %q", tt.name, err, tt.want)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	r := &Result{
		ID: "20261204t050000", Started: time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC),
		Machine: Machine{Cores: 2, MemoryGiB: 23.5, Kernel: "6.1"}, Options: DefaultOptions().public(),
		LoadAvgStart: "1.00 1.00 1.00", LoadSeconds: 40, Accepted: 627160, AcceptedPerSec: 15679, AcceptedMedianPerSec: 16000,
		Consumers: []Consumer{
			{Name: "legacy-ingest", RatePerSec: 15679, MedianRatePerSec: 15700, LagAtLoadEnd: 1200, DrainSeconds: 4.5},
			{Name: "nextgen-run", RatePerSec: 11800, LagAtLoadEnd: 154585, FinalLag: 9000, DrainSeconds: -1},
		},
		DrainSeconds: 300, Drained: false,
		Freshness: map[string]Freshness{"legacy": {Probes: 40, Seen: 40, P50: 3100, P99: 5200}},
		CPU: []CPUFigure{
			{Process: "collector", Kind: "brooks", PerEventUS: 15},
			{Process: "cassandra", Kind: "server", PerEventUS: 30},
		},
		LoadgenCPUPerEventUS: 10,
		Queries: []QueryFigure{
			{System: "legacy", Range: "today", Shape: "visitors per 5m", Unsupported: true},
			{System: "nextgen", Range: "today", Shape: "visitors per 5m", N: 20, P50: 1.5, P99: 250},
		},
	}
	var b strings.Builder
	r.WriteMarkdown(&b)
	out := b.String()
	for _, want := range []string{
		"| accepted events/s | **15,679** (627,160 events in 40.0 s; median second 16,000) |",
		"| consumer nextgen-run | 11,800 records/s during load (median second 0); lag 154,585 at load end, 9,000 final; not drained |",
		"| consumer legacy-ingest | 15,679 records/s during load (median second 15,700); lag 1,200 at load end, 0 final; drained 4.5 s after load end |",
		"| drain time (all consumers) | not drained after 300 s |",
		"| freshness legacy | p50 3.10 s, p99 5.20 s",
		"| CPU total | **45.0 µs/event** (Brooks 15.0, servers 30.0)",
		"| query p50 / p99, today: visitors per 5m | legacy 422 · nextgen 1.5 / 250 ms |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "|---|---|"); n != 1 {
		t.Errorf("%d tables, want one", n)
	}
}

func TestMedianRate(t *testing.T) {
	// 1,000/s, a stall, then 2,000/s, then the drain after t=5.
	ticks := []Tick{{Seconds: 0}, {Seconds: 1, Accepted: 1000}, {Seconds: 2, Accepted: 2000}, {Seconds: 3, Accepted: 2000},
		{Seconds: 4, Accepted: 4000}, {Seconds: 5, Accepted: 6000}, {Seconds: 6, Accepted: 9000}}
	acc := func(t Tick) float64 { return t.Accepted }
	tests := []struct {
		from, to float64
		want     float64
	}{
		{0, 5, 1000}, // rates 1000, 1000, 0, 2000, 2000: sorted, the middle is 1000
		{0, 6, 2000}, // with the last second's 3000
		{3, 5, 2000},
		{5, 5, 0}, // no whole interval
	}
	for _, tt := range tests {
		if got := medianRate(ticks, acc, tt.from, tt.to); got != tt.want {
			t.Errorf("medianRate [%v, %v] = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
