package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Result is one run's figures; it is written as JSON and as one markdown
// table.
type Result struct {
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Topic    string    `json:"topic"`
	Machine  Machine   `json:"machine"`
	Options  options   `json:"options"`

	LoadAvgStart   string `json:"load_avg_start"`
	LoadAvgLoadEnd string `json:"load_avg_load_end"`
	LoadAvgDrained string `json:"load_avg_drained"`

	LoadSeconds    float64 `json:"load_seconds"`
	Accepted       int64   `json:"accepted"`
	AcceptedPerSec float64 `json:"accepted_per_sec"`
	// AcceptedMedianPerSec is the median of the per-second rates during
	// the load.
	AcceptedMedianPerSec float64 `json:"accepted_median_per_sec"`
	// Timeline is the counters every second from load start until the
	// last freshness probe was seen (after the drain).
	Timeline []Tick `json:"timeline"`

	Consumers    []Consumer `json:"consumers"`
	DrainSeconds float64    `json:"drain_seconds"`
	Drained      bool       `json:"drained"`

	Freshness map[string]Freshness `json:"freshness"`

	// WindowSeconds is the CPU window: load start to drained.
	WindowSeconds        float64       `json:"window_seconds"`
	CPU                  []CPUFigure   `json:"cpu"`
	MachineCPUSeconds    float64       `json:"machine_cpu_seconds"`
	Loadgen              LoadgenFigure `json:"loadgen"`
	LoadgenCPUPerEventUS float64       `json:"loadgen_cpu_us_per_event"`
	MissingServers       []string      `json:"missing_servers,omitempty"`

	Queries []QueryFigure `json:"queries"`
}

// Machine describes where the run took place.
type Machine struct {
	Cores     int     `json:"cores"`
	MemoryGiB float64 `json:"memory_gib"`
	Kernel    string  `json:"kernel"`
}

// options are the settings a reader needs to repeat the run.
type options struct {
	Duration    string `json:"duration"`
	Batch       int    `json:"batch"`
	Concurrency int    `json:"concurrency"`
	QueryReps   int    `json:"query_reps"`
	Warmup      int    `json:"warmup_events"`
}

func (o Options) public() options {
	return options{Duration: o.Duration.String(), Batch: o.Batch, Concurrency: o.Concurrency, QueryReps: o.QueryReps, Warmup: o.WarmupEvents}
}

// Consumer is one consumer group's figures.
type Consumer struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	// RatePerSec is records handed to the component per second during
	// the load (brooks_consumer_records_total).
	RatePerSec float64 `json:"rate_per_sec"`
	// MedianRatePerSec is the median of its per-second rates during the
	// load.
	MedianRatePerSec float64 `json:"median_rate_per_sec"`
	// LagAtLoadEnd and FinalLag are the committed lag (last offset minus
	// committed, all partitions) when loadgen ended and at the end.
	LagAtLoadEnd int64 `json:"lag_at_load_end"`
	FinalLag     int64 `json:"final_lag"`
	// FinalLagByPartition is FinalLag's partitions with a lag.
	FinalLagByPartition map[int]int64 `json:"final_lag_by_partition,omitempty"`
	// DrainSeconds is load end to a committed lag of zero; -1 when it did
	// not drain within the drain timeout.
	DrainSeconds float64 `json:"drain_seconds"`
}

// Freshness is one system's produce-to-visible latency over the probes.
type Freshness struct {
	Probes int `json:"probes"`
	Seen   int `json:"seen"`
	Errors int `json:"query_errors"`
	// LastError is the last failed poll's error (an index not yet
	// created before the first flush, a timeout, ...).
	LastError string  `json:"last_error,omitempty"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
}

// CPUFigure is one process's CPU over the window.
type CPUFigure struct {
	Process    string  `json:"process"`
	Kind       string  `json:"kind"` // brooks or server
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_seconds"`
	PerEventUS float64 `json:"us_per_event"`
	Cores      float64 `json:"cores"`
}

// LoadgenFigure is the load generator's own cost, reported apart.
type LoadgenFigure struct {
	Args       []string      `json:"args"`
	CPU        time.Duration `json:"-"`
	CPUSeconds float64       `json:"cpu_seconds"`
}

// QueryFigure is one system's latency for one shape over one range.
type QueryFigure struct {
	System      string  `json:"system"`
	Range       string  `json:"range"`
	Shape       string  `json:"shape"`
	N           int     `json:"n"`
	Errors      int     `json:"errors"`
	Unsupported bool    `json:"unsupported"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
}

// TotalPerEventUS sums the processes' µs per event (loadgen excluded).
func (r *Result) TotalPerEventUS() float64 {
	var t float64
	for _, c := range r.CPU {
		t += c.PerEventUS
	}
	return t
}

// Save writes the result as JSON and markdown under dir
// (platform-<id>.json, .md) and returns the JSON path.
func (r *Result) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("save: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("save: %w", err)
	}
	jp := filepath.Join(dir, "platform-"+r.ID+".json")
	if err := os.WriteFile(jp, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("save: %w", err)
	}
	var md strings.Builder
	r.WriteMarkdown(&md)
	if err := os.WriteFile(filepath.Join(dir, "platform-"+r.ID+".md"), []byte(md.String()), 0o644); err != nil {
		return "", fmt.Errorf("save: %w", err)
	}
	return jp, nil
}

// WriteMarkdown writes the run as one markdown table.
func (r *Result) WriteMarkdown(w io.Writer) {
	row := func(k, v string) { fmt.Fprintf(w, "| %s | %s |\n", k, v) }
	fmt.Fprintf(w, "Whole-platform benchmark %s (%s): %d cores, %.1f GiB, kernel %s; load average %s at start, %s at load end, %s drained.\n\n",
		r.ID, r.Started.Format(time.RFC3339), r.Machine.Cores, r.Machine.MemoryGiB, r.Machine.Kernel, r.LoadAvgStart, r.LoadAvgLoadEnd, r.LoadAvgDrained)
	fmt.Fprintln(w, "| figure | value |")
	fmt.Fprintln(w, "|---|---|")
	row("load", fmt.Sprintf("loadgen %s, batches of %d, %d in flight (after a warm-up of %d events)", r.Options.Duration, r.Options.Batch, r.Options.Concurrency, r.Options.Warmup))
	row("accepted events/s", fmt.Sprintf("**%s** (%s events in %.1f s; median second %s)", thousands(r.AcceptedPerSec), thousands(float64(r.Accepted)), r.LoadSeconds, thousands(r.AcceptedMedianPerSec)))
	for _, c := range r.Consumers {
		drain := "not drained"
		if c.DrainSeconds >= 0 {
			drain = fmt.Sprintf("drained %.1f s after load end", c.DrainSeconds)
		}
		row("consumer "+c.Name, fmt.Sprintf("%s records/s during load (median second %s); lag %s at load end, %s final; %s",
			thousands(c.RatePerSec), thousands(c.MedianRatePerSec), thousands(float64(c.LagAtLoadEnd)), thousands(float64(c.FinalLag)), drain))
	}
	row("drain time (all consumers)", drainText(r))
	for _, sys := range sortedKeys(r.Freshness) {
		f := r.Freshness[sys]
		row("freshness "+sys, fmt.Sprintf("p50 %s, p99 %s, max %s (%d of %d probes seen, %d query errors)",
			secs(f.P50), secs(f.P99), secs(f.Max), f.Seen, f.Probes, f.Errors))
	}
	var brooks, servers float64
	for _, c := range r.CPU {
		row(fmt.Sprintf("CPU %s (%s)", c.Process, c.Kind), fmt.Sprintf("%.1f µs/event (%.1f s, %.2f cores avg over the window)", c.PerEventUS, c.CPUSeconds, c.Cores))
		if c.Kind == "brooks" {
			brooks += c.PerEventUS
		} else {
			servers += c.PerEventUS
		}
	}
	row("CPU total", fmt.Sprintf("**%.1f µs/event** (Brooks %.1f, servers %.1f) over %.1f s", brooks+servers, brooks, servers, r.WindowSeconds))
	row("CPU loadgen (apart)", fmt.Sprintf("%.1f µs/event (%.1f s)", r.LoadgenCPUPerEventUS, r.Loadgen.CPUSeconds))
	if r.Accepted > 0 {
		other := r.MachineCPUSeconds - (brooks+servers)*float64(r.Accepted)/1e6 - r.Loadgen.CPUSeconds
		row("CPU rest of machine", fmt.Sprintf("%.1f s (machine busy %.1f s in the window: others' work contaminates the figures above when large)", other, r.MachineCPUSeconds))
	}
	if len(r.MissingServers) > 0 {
		row("servers not measured", strings.Join(r.MissingServers, ", ")+" (no pid file)")
	}
	writeQueryRows(w, r.Queries)
}

// writeQueryRows adds a row per (range, shape): each system's p50 / p99.
func writeQueryRows(w io.Writer, qs []QueryFigure) {
	type key struct{ rng, shape string }
	var order []key
	cells := map[key][]string{}
	for _, q := range qs {
		k := key{q.Range, q.Shape}
		if _, ok := cells[k]; !ok {
			order = append(order, k)
		}
		var v string
		switch {
		case q.Unsupported:
			v = q.System + " 422"
		case q.N == 0:
			v = fmt.Sprintf("%s failed (%d errors)", q.System, q.Errors)
		default:
			v = fmt.Sprintf("%s %s / %s ms", q.System, num(q.P50), num(q.P99))
			if q.Errors > 0 {
				v += fmt.Sprintf(" (%d errors)", q.Errors)
			}
		}
		cells[k] = append(cells[k], v)
	}
	for _, k := range order {
		fmt.Fprintf(w, "| query p50 / p99, %s: %s | %s |\n", k.rng, k.shape, strings.Join(cells[k], " · "))
	}
}

func drainText(r *Result) string {
	if !r.Drained {
		return fmt.Sprintf("not drained after %.0f s", r.DrainSeconds)
	}
	return fmt.Sprintf("%.1f s", r.DrainSeconds)
}

func secs(msv float64) string { return fmt.Sprintf("%.2f s", msv/1000) }

func num(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// thousands formats v rounded, with commas: 15679 -> "15,679".
func thousands(v float64) string {
	n := int64(v + 0.5)
	if v < 0 {
		n = int64(v - 0.5)
	}
	s := fmt.Sprintf("%d", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
