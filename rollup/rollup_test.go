package rollup_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

func customers(t testing.TB) *pixel.Customers {
	t.Helper()
	cs, err := pixel.NewCustomers(
		&pixel.Customer{ID: "acme.example", PostPattern: `^https://acme\.example/post/`, HeartbeatSeconds: 10},
		&pixel.Customer{ID: "globex.example", PostPattern: `^https://globex\.example/`, HeartbeatSeconds: 15},
	)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

var t0 = time.Date(2026, 11, 25, 10, 3, 0, 0, time.UTC)

func ev(eid, typ, visitor string, vid int, at time.Time) pixel.Event {
	return pixel.Event{EID: eid, Customer: "acme.example", Type: typ, ReceivedAt: at, DUID: visitor, VisitIndex: vid,
		URL: "https://ACME.example/post/1?utm_campaign=spring#top", Referrer: "https://www.google.com/search?q=x",
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"}
}

func TestAddMetrics(t *testing.T) {
	video := ev("v1", pixel.TypeStructured, "a", 0, t0)
	video.SECategory, video.SEAction = "video", "start"
	other := ev("s1", pixel.TypeStructured, "a", 0, t0)
	other.SECategory, other.SEAction = "video", "pause"
	nuid := ev("n1", pixel.TypePageView, "", 1, t0)
	nuid.NUID = "net-1"
	tests := []struct {
		name   string
		events []pixel.Event
		want   map[string]int64 // 5m totals
		stats  rollup.Stats
	}{
		{"page views and visitors", []pixel.Event{
			ev("1", "pv", "a", 1, t0), ev("2", "pv", "a", 2, t0), ev("3", "pv", "b", 3, t0),
		}, map[string]int64{"pageviews": 3, "visitors": 2, "new_visitors": 1, "returning_visitors": 2}, rollup.Stats{Added: 3}},
		{"pings are engaged seconds", []pixel.Event{
			ev("1", "pp", "a", 1, t0), ev("2", "pp", "a", 1, t0),
		}, map[string]int64{"pings": 2, "engaged_seconds": 20, "visitors": 0}, rollup.Stats{Added: 2}},
		{"video starts only", []pixel.Event{video, other},
			map[string]int64{"video_starts": 1, "pageviews": 0}, rollup.Stats{Added: 1, Ignored: 1}},
		{"duplicate eid counted once", []pixel.Event{
			ev("1", "pv", "a", 1, t0), ev("1", "pv", "a", 1, t0.Add(time.Minute)),
		}, map[string]int64{"pageviews": 1, "visitors": 1}, rollup.Stats{Added: 1, Duplicates: 1}},
		{"network user id when no domain user id", []pixel.Event{nuid},
			map[string]int64{"pageviews": 1, "visitors": 1, "new_visitors": 1}, rollup.Stats{Added: 1}},
		{"unknown event types are ignored", []pixel.Event{ev("1", "ue", "a", 1, t0)},
			map[string]int64{"pageviews": 0}, rollup.Stats{Ignored: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rollup.New(customers(t), rollup.Options{})
			for i := range tt.events {
				if err := r.Add(0, int64(i), &tt.events[i]); err != nil {
					t.Fatal(err)
				}
			}
			tot := r.Totals(rollup.FiveMinutes, nil)
			for m, want := range tt.want {
				got := tot.Sum(m)
				if mm, _ := r.Registry().Metric(m); mm.Kind == rollup.Distinct {
					got = int64(tot.Count(m))
				}
				if got != want {
					t.Errorf("%s = %d, want %d", m, got, want)
				}
			}
			if r.Stats() != tt.stats {
				t.Errorf("stats = %+v, want %+v", r.Stats(), tt.stats)
			}
		})
	}
}

func TestCellsKeyedByBucketAndDimensions(t *testing.T) {
	r := rollup.New(customers(t), rollup.Options{})
	a := ev("1", "pv", "a", 1, t0)
	b := ev("2", "pv", "b", 1, t0.Add(5*time.Minute)) // next 5m bucket, same day
	c := ev("3", "pv", "c", 1, t0)
	c.Referrer = "" // direct: another tuple
	for i, e := range []pixel.Event{a, b, c} {
		if err := r.Add(2, int64(i), &e); err != nil {
			t.Fatal(err)
		}
	}
	var five, day int
	for _, cell := range r.Cells() {
		switch cell.Key.Granularity {
		case rollup.FiveMinutes:
			five++
		case rollup.OneDay:
			day++
			if !cell.BucketStart().Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("1d bucket = %v", cell.BucketStart())
			}
		}
		if cell.Key.Partition != 2 {
			t.Errorf("partition = %d", cell.Key.Partition)
		}
	}
	if five != 3 || day != 2 {
		t.Fatalf("cells: %d at 5m, %d at 1d; want 3 and 2", five, day)
	}
	first := r.Cells()[0]
	want := map[string]string{"url": "https://acme.example/post/1", "referrer_domain": "", "referrer_category": "direct", "campaign": "spring", "device": "mobile"}
	if first.Dim("referrer_category") != "direct" {
		// Cells sort by tuple bytes; find the direct one.
		for _, cell := range r.Cells() {
			if cell.Dim("referrer_category") == "direct" {
				first = cell
				break
			}
		}
	}
	for d, v := range want {
		if got := first.Dim(d); got != v {
			t.Errorf("dim %s = %q, want %q", d, got, v)
		}
	}
}

func TestWatermarkMakesReplayExact(t *testing.T) {
	reg := rollup.DefaultRegistry
	cs := customers(t)
	c, _ := cs.Get("acme.example")
	events := []pixel.Event{ev("1", "pv", "a", 1, t0), ev("2", "pv", "b", 1, t0), ev("3", "pp", "b", 1, t0)}
	var cell *rollup.Cell
	apply := func(from int) {
		for i := from; i < len(events); i++ {
			f := reg.Fact(&events[i], c)
			k := reg.Keys(0, &f, []rollup.Granularity{rollup.FiveMinutes})[0]
			if cell == nil {
				cell = reg.NewCell(k)
			}
			cell.Apply(&f, int64(i))
		}
	}
	apply(0)
	apply(1) // replay after a "crash" that lost the commit of offsets 1 and 2
	if cell.Sum("pageviews") != 2 || cell.Sum("engaged_seconds") != 10 || cell.Count("visitors") != 2 || cell.Offset != 2 {
		t.Fatalf("after replay: pageviews %d engaged %d visitors %d offset %d", cell.Sum("pageviews"), cell.Sum("engaged_seconds"), cell.Count("visitors"), cell.Offset)
	}
}

func TestUnknownCustomer(t *testing.T) {
	r := rollup.New(customers(t), rollup.Options{})
	e := ev("1", "pv", "a", 1, t0)
	e.Customer = "nobody.example"
	if err := r.Add(0, 0, &e); !errors.Is(err, pixel.ErrUnknownCustomer) {
		t.Fatalf("err = %v, want ErrUnknownCustomer", err)
	}
}

func TestGranularityBucket(t *testing.T) {
	tests := []struct {
		g    rollup.Granularity
		at   time.Time
		want time.Time
	}{
		{rollup.FiveMinutes, time.Date(2026, 11, 25, 10, 4, 59, 999, time.UTC), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		{rollup.FiveMinutes, time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC), time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)},
		{rollup.OneDay, time.Date(2026, 11, 25, 23, 59, 59, 0, time.UTC), time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{rollup.OneDay, time.Date(2026, 11, 25, 1, 0, 0, 0, time.FixedZone("x", 2*3600)), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		{rollup.FiveMinutes, time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 55, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := tt.g.BucketStart(tt.at); !got.Equal(tt.want) {
			t.Errorf("%s bucket of %v = %v, want %v", tt.g, tt.at, got, tt.want)
		}
	}
	if err := rollup.Granularity("1h").Validate(); err == nil {
		t.Error("1h validated")
	}
}

func TestRegistryValidation(t *testing.T) {
	sum := func(*rollup.Fact) int64 { return 0 }
	val := func(*rollup.Fact) string { return "" }
	tests := []struct {
		name    string
		metrics []rollup.Metric
		dims    []rollup.Dimension
		wantErr string
	}{
		{"ok", []rollup.Metric{{Name: "a", Kind: rollup.Sum, Amount: sum}}, []rollup.Dimension{{Name: "d", Value: val}}, ""},
		{"bad name", []rollup.Metric{{Name: "A-b", Kind: rollup.Sum, Amount: sum}}, nil, "not a lowercase identifier"},
		{"duplicate metric", []rollup.Metric{{Name: "a", Kind: rollup.Sum, Amount: sum}, {Name: "a", Kind: rollup.Sum, Amount: sum}}, nil, "defined twice"},
		{"sum without amount", []rollup.Metric{{Name: "a", Kind: rollup.Sum}}, nil, "needs Amount"},
		{"distinct without member", []rollup.Metric{{Name: "a", Kind: rollup.Distinct}}, nil, "needs Member"},
		{"no kind", []rollup.Metric{{Name: "a", Amount: sum}}, nil, "kind must be"},
		{"dimension without value", nil, []rollup.Dimension{{Name: "d"}}, "needs Value"},
		{"duplicate dimension", nil, []rollup.Dimension{{Name: "d", Value: val}, {Name: "d", Value: val}}, "defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rollup.NewRegistry(tt.metrics, tt.dims)
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && !contains(got, tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// A site cell is the total of its bucket's tuple cells in the partition:
// every sum added up and every set the union; Totals leaves site cells out.
func TestSiteCellsAreBucketTotals(t *testing.T) {
	r := rollup.New(customers(t), rollup.Options{Sites: true})
	urls := []string{"https://acme.example/post/1", "https://acme.example/post/2", "https://acme.example/about"}
	types := []string{pixel.TypePageView, pixel.TypePagePing, pixel.TypePageView}
	for i := range 300 {
		e := ev(fmt.Sprint(i), types[i%3], fmt.Sprintf("v%d", i%37), 1+i%4, t0.Add(time.Duration(i)*37*time.Second))
		e.URL = urls[i%len(urls)]
		if i%5 == 0 {
			e.Referrer = ""
		}
		if err := r.Add(int32(i%2), int64(i), &e); err != nil {
			t.Fatal(err)
		}
	}
	sites, tuples := 0, 0
	want := map[rollup.Key]*rollup.Cell{}
	for _, c := range r.Cells() {
		if c.Key.Site() {
			sites++
			continue
		}
		tuples++
		k := rollup.SiteKey(c.Key)
		if want[k] == nil {
			want[k] = r.Registry().NewCell(k)
		}
		want[k].Merge(c)
	}
	if sites != len(want) || tuples <= sites {
		t.Fatalf("%d site cells for %d bucket-partitions (%d tuple cells)", sites, len(want), tuples)
	}
	for k, w := range want {
		got := r.Get(k)
		if got == nil {
			t.Fatalf("no site cell %+v", k)
		}
		for _, m := range r.Registry().Metrics() {
			if got.Sum(m.Name) != w.Sum(m.Name) || fmt.Sprint(got.Set(m.Name)) != fmt.Sprint(w.Set(m.Name)) {
				t.Errorf("%v partition %d %s: site %d %v, tuples %d %v", k.BucketStart(), k.Partition, m.Name, got.Sum(m.Name), got.Set(m.Name), w.Sum(m.Name), w.Set(m.Name))
			}
		}
		if got.Dims()[0] != "" {
			t.Errorf("site cell has a url: %q", got.Dims()[0])
		}
	}
	if tot := r.Totals(rollup.OneDay, nil); tot.Sum("pageviews") != 200 {
		t.Errorf("Totals pageviews = %d, want 200 (site cells counted?)", tot.Sum("pageviews"))
	}
	plain := rollup.New(customers(t), rollup.Options{})
	e := ev("x", pixel.TypePageView, "a", 1, t0)
	if err := plain.Add(0, 0, &e); err != nil {
		t.Fatal(err)
	}
	for _, c := range plain.Cells() {
		if c.Key.Site() {
			t.Fatal("site cell made without Options.Sites")
		}
	}
}
