package legacy

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
)

func testCustomers(t testing.TB) *pixel.Customers {
	t.Helper()
	cs, err := pixel.NewCustomers(
		&pixel.Customer{ID: "acme.example", PostPattern: `^https://acme\.example/post/`, HeartbeatSeconds: 10},
		&pixel.Customer{ID: "globex.example", PostPattern: `^https://globex\.example/\d{4}/`, HeartbeatSeconds: 15},
	)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

var t0 = time.Date(2026, 11, 25, 10, 7, 30, 0, time.UTC)

func record(t testing.TB, e pixel.Event) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClassify(t *testing.T) {
	cs := testCustomers(t)
	pv := pixel.Event{EID: "e1", Customer: "acme.example", Type: "pv", ReceivedAt: t0,
		URL: "https://ACME.example/post/1?utm_source=x#top", Referrer: "https://www.google.com/search?q=a", DUID: "d1"}
	tests := []struct {
		name       string
		value      []byte
		wantReason string
		wantPost   string
		wantRef    string
	}{
		{"post page view", record(t, pv), "", "https://acme.example/post/1", pixel.RefSearch},
		{"not json", []byte("{"), ReasonBadRecord, "", ""},
		{"missing eid", record(t, func() pixel.Event { e := pv; e.EID = ""; return e }()), ReasonBadRecord, "", ""},
		{"unknown customer", record(t, func() pixel.Event { e := pv; e.Customer = "nope.example"; return e }()), ReasonUnknownCustomer, "", ""},
		{"page ping", record(t, func() pixel.Event { e := pv; e.Type = "pp"; return e }()), ReasonNotPageview, "", ""},
		{"video start", record(t, func() pixel.Event { e := pv; e.Type = "se"; e.SECategory, e.SEAction = "video", "start"; return e }()), ReasonNotPageview, "", ""},
		{"non-post page", record(t, func() pixel.Event { e := pv; e.URL = "https://acme.example/about"; return e }()), ReasonNonPost, "", ""},
		{"direct", record(t, func() pixel.Event { e := pv; e.Referrer = ""; return e }()), "", "https://acme.example/post/1", pixel.RefDirect},
		{"internal", record(t, func() pixel.Event { e := pv; e.Referrer = "https://acme.example/"; return e }()), "", "https://acme.example/post/1", pixel.RefInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Classify(cs, tt.value)
			if reason != tt.wantReason {
				t.Fatalf("reason = %q, want %q", reason, tt.wantReason)
			}
			if reason != "" {
				return
			}
			if got.Post != tt.wantPost || got.Referrer != tt.wantRef || got.Visitor != "d1" || !got.At.Equal(t0) {
				t.Errorf("page view = %+v, want post %q referrer %q", got, tt.wantPost, tt.wantRef)
			}
		})
	}
}

func TestClassifyAgreesWithDims(t *testing.T) {
	cs := testCustomers(t)
	e := pixel.Event{EID: "e1", Customer: "acme.example", Type: "pv", ReceivedAt: t0,
		URL: "https://www.acme.example/post/2", Referrer: "https://blog.acme.example/x"}
	pv, reason := ClassifyEvent(cs, &e)
	d := e.Dims()
	if reason == "" && (pv.Post != d.URL || pv.Referrer != d.ReferrerCategory) {
		t.Errorf("Classify = (%q, %q), Dims = (%q, %q)", pv.Post, pv.Referrer, d.URL, d.ReferrerCategory)
	}
}

func TestBatchAggregates(t *testing.T) {
	b := NewBatch()
	add := func(post, ref, visitor string, at time.Time) {
		b.Add(Pageview{Customer: "acme.example", Post: post, Referrer: ref, Visitor: visitor, At: at})
	}
	p1, p2 := "https://acme.example/post/1", "https://acme.example/post/2"
	add(p1, "search", "v1", t0)
	add(p1, "search", "v2", t0.Add(time.Minute))   // same 5m bucket (10:05)
	add(p1, "social", "v1", t0.Add(3*time.Minute)) // next bucket (10:10)
	add(p2, "direct", "", t0)                      // no visitor id
	add(p1, "search", "v3", t0.Add(14*time.Hour))  // next day
	if b.Len() != 5 {
		t.Fatalf("Len = %d", b.Len())
	}
	b1005 := time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC).Unix()
	b1010 := b1005 + 300
	want5m := map[pvCell]int64{
		{"acme.example", b1005, p1, "search"}:                                                2,
		{"acme.example", b1010, p1, "social"}:                                                1,
		{"acme.example", b1005, p2, "direct"}:                                                1,
		{"acme.example", time.Date(2026, 11, 26, 0, 5, 0, 0, time.UTC).Unix(), p1, "search"}: 1,
		// The site's totals per bucket and referrer category.
		{"acme.example", b1005, "", "search"}:                                                2,
		{"acme.example", b1005, "", "direct"}:                                                1,
		{"acme.example", b1010, "", "social"}:                                                1,
		{"acme.example", time.Date(2026, 11, 26, 0, 5, 0, 0, time.UTC).Unix(), "", "search"}: 1,
	}
	if len(b.pv5m) != len(want5m) {
		t.Errorf("5m cells = %v, want %v", b.pv5m, want5m)
	}
	for k, v := range want5m {
		if b.pv5m[k] != v {
			t.Errorf("5m %+v = %d, want %d", k, b.pv5m[k], v)
		}
	}
	d := b.days[dayCell{"acme.example", "2026-11-25", p1}]
	if d == nil || d.pageviews != 3 || d.referrers["search"] != 2 || d.referrers["social"] != 1 {
		t.Errorf("day doc p1 = %+v", d)
	}
	if n := len(b.visitors[dayCell{"acme.example", "2026-11-25", p1}]); n != 2 {
		t.Errorf("p1 visitors on 25th = %d, want 2", n)
	}
	if n := len(b.visitors[dayCell{"acme.example", "2026-11-25", ""}]); n != 2 {
		t.Errorf("site visitors on 25th = %d, want 2", n)
	}
	if _, ok := b.visitors[dayCell{"acme.example", "2026-11-25", p2}]; ok {
		t.Error("a page view without visitor id made a HyperLogLog entry")
	}
}

func TestDedupeWindows(t *testing.T) {
	d := newDedupe()
	steps := []struct {
		eid    string
		rotate bool
		want   bool
	}{
		{"a", false, false},
		{"a", false, true},
		{"b", true, false}, // rotate before: a in prev
		{"a", false, true},
		{"c", true, false}, // rotate: b in prev, a forgotten
		{"a", false, false},
		{"b", false, true},
	}
	for i, s := range steps {
		if s.rotate {
			d.rotate()
		}
		if got := d.seen(s.eid); got != s.want {
			t.Errorf("step %d: seen(%q) = %v, want %v", i, s.eid, got, s.want)
		}
	}
}

func TestPVFieldRoundTrip(t *testing.T) {
	post, ref, ok := splitPVField(pvField("https://acme.example/post/1?a=1", "search"))
	if !ok || post != "https://acme.example/post/1?a=1" || ref != "search" {
		t.Errorf("split = %q %q %v", post, ref, ok)
	}
	if _, _, ok := splitPVField("no separator"); ok {
		t.Error("split of a foreign field succeeded")
	}
}
