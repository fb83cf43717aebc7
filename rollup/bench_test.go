package rollup_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// BenchmarkAdd measures the aggregation cost per event (both granularities,
// dimension derivation included), the CPU floor of the stream engine.
func BenchmarkAdd(b *testing.B) {
	events := make([]pixel.Event, 10000)
	types := []string{"pv", "pv", "pp", "pp", "pp", "se"}
	for i := range events {
		events[i] = pixel.Event{EID: fmt.Sprintf("e%d", i), Customer: "acme.example", Type: types[i%len(types)],
			ReceivedAt: t0.Add(time.Duration(i) * 50 * time.Millisecond), DUID: fmt.Sprintf("v%d", i%3000), VisitIndex: 1 + i%4,
			URL:       fmt.Sprintf("https://acme.example/post/%d?utm_source=x&utm_campaign=c%d", i%200, i%5),
			Referrer:  []string{"", "https://www.google.com/", "https://t.co/abc", "https://acme.example/"}[i%4],
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", SECategory: "video", SEAction: "start"}
	}
	r := rollup.New(customers(b), rollup.Options{KeepDuplicates: true})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Add(0, int64(i), &events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
	}
}
