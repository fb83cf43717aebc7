package collector_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"syscall"
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/collector"
)

// The collector's CPU work per event, without HTTP or Kafka: parse the
// request, validate each event, encode its Kafka record. Events are the
// real browser tracker's (testdata), so sizes and field counts are what
// production sees. events/s is per goroutine, i.e. per core, in wall time;
// events/cpu-s divides by the CPU time the process used (garbage collection
// included), which a busy shared machine disturbs less:
//
//	go test -run '^$' -bench . -benchtime 2s ./shadow/collector

func BenchmarkParseGET(b *testing.B) {
	reg := staticRegistry(b)
	q := query(trackerEvent(b, trackerPV))
	b.SetBytes(int64(len(q)))
	var rec int
	cpu0 := cpuTime()
	for b.Loop() {
		rec += parseGET(b, reg, q)
	}
	reportEvents(b, 1, rec, cpuTime()-cpu0)
}

func BenchmarkParseTP2Batch25(b *testing.B) {
	reg := staticRegistry(b)
	body := tp2Batch(b, 25)
	b.SetBytes(int64(len(body)))
	var rec int
	cpu0 := cpuTime()
	for b.Loop() {
		rec += parseTP2(b, reg, body)
	}
	reportEvents(b, 25, rec, cpuTime()-cpu0)
}

// parseGET is the collector's work for one GET /i; it returns the record
// bytes written.
func parseGET(b *testing.B, reg collector.Registry, q string) int {
	now := time.Now()
	p, err := collector.ParseQuery(q)
	if err != nil {
		b.Fatal(err)
	}
	e, rej := collector.BuildEvent(p, now, "nuid-cookie", "Mozilla/5.0", reg)
	if rej != nil {
		b.Fatal(rej)
	}
	v, err := e.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return len(v)
}

// parseTP2 is the collector's work for one tp2 POST.
func parseTP2(b *testing.B, reg collector.Registry, body []byte) int {
	now := time.Now()
	evs, err := collector.ParseEnvelope(body)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, p := range evs {
		e, rej := collector.BuildEvent(p, now, "nuid-cookie", "Mozilla/5.0", reg)
		if rej != nil {
			b.Fatal(rej)
		}
		v, err := e.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		n += len(v)
	}
	return n
}

// tp2Batch is a tp2 body of n real tracker events: a page view and its
// page pings, each with its own eid, as the tracker sends with bufferSize n.
func tp2Batch(tb testing.TB, n int) []byte {
	tb.Helper()
	pv, pp := trackerEvent(tb, trackerPV), trackerEvent(tb, trackerPP)
	data := make([]map[string]string, n)
	for i := range data {
		ev := maps.Clone(pp)
		if i == 0 {
			ev = maps.Clone(pv)
		}
		ev["eid"] = fmt.Sprintf("3f1c2b4a-0000-4000-8000-%012d", i)
		data[i] = ev
	}
	body, err := json.Marshal(map[string]any{
		"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
		"data":   data,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func reportEvents(b *testing.B, perOp, recordBytes int, cpu time.Duration) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N*perOp)/s, "events/s")
	}
	if cpu > 0 {
		b.ReportMetric(float64(b.N*perOp)/cpu.Seconds(), "events/cpu-s")
	}
	b.ReportMetric(float64(recordBytes)/float64(b.N*perOp), "record-B/event")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Registry is satisfied by the static registry the benchmarks use.
var _ collector.Registry = (*pixel.Customers)(nil)
