package loadgen

import (
	"reflect"
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
)

func TestGeneratorIsDeterministic(t *testing.T) {
	a := NewGenerator(42, DefaultProfiles(), 100)
	b := NewGenerator(42, DefaultProfiles(), 100)
	c := NewGenerator(43, DefaultProfiles(), 100)
	same := true
	for i := range 500 {
		ea, eb, ec := a.Next(), b.Next(), c.Next()
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("event %d differs for the same seed:\n%v\n%v", i, ea, eb)
		}
		same = same && reflect.DeepEqual(ea, ec)
	}
	if same {
		t.Error("different seeds gave the same events")
	}
}

func TestGeneratorIsRealistic(t *testing.T) {
	cs, err := pixel.LoadCustomers("../deploy/local/customers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(1, DefaultProfiles(), 500)
	types := map[string]int{}
	refs := map[string]int{}
	devices := map[string]int{}
	eids := map[string]bool{}
	var posts, pages, campaigns, newV, returning int
	for range 20000 {
		p := g.Next()
		types[p["e"]]++
		if eids[p["eid"]] {
			t.Fatalf("eid %s repeated", p["eid"])
		}
		eids[p["eid"]] = true
		c, err := cs.Get(p["aid"])
		if err != nil {
			t.Fatalf("generated an unknown customer: %v", err)
		}
		if p["e"] != "pv" {
			continue
		}
		e := pixel.Event{URL: p["url"], Referrer: p["refr"], UserAgent: p["ua"]}
		d := e.Dims()
		if c.IsPost(d.URL) {
			posts++
		} else {
			pages++
		}
		refs[d.ReferrerCategory]++
		devices[d.Device]++
		if d.Campaign != "" {
			campaigns++
		}
		if p["vid"] == "1" {
			newV++
		} else {
			returning++
		}
	}
	if types["pv"] == 0 || types["pp"] == 0 || types["se"] == 0 {
		t.Errorf("event types %v: want page views, page pings and structured events", types)
	}
	for _, cat := range []string{pixel.RefSearch, pixel.RefSocial, pixel.RefInternal, pixel.RefDirect, pixel.RefOther} {
		if refs[cat] == 0 {
			t.Errorf("no %s referrers in %v", cat, refs)
		}
	}
	for _, d := range []string{pixel.DeviceDesktop, pixel.DeviceMobile, pixel.DeviceTablet} {
		if devices[d] == 0 {
			t.Errorf("no %s devices in %v", d, devices)
		}
	}
	if posts == 0 || pages == 0 || campaigns == 0 || newV == 0 || returning == 0 {
		t.Errorf("posts %d, other pages %d, campaigns %d, new %d, returning %d: want all", posts, pages, campaigns, newV, returning)
	}
}

func TestExpectations(t *testing.T) {
	b := time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)
	x := NewExpectations()
	ev := func(eid, typ, url, duid, vid string) map[string]string {
		return map[string]string{"eid": eid, "aid": "acme.example", "e": typ, "url": url, "duid": duid, "vid": vid}
	}
	x.Record(b, []map[string]string{
		ev("1", "pv", "https://ACME.example/post/1#x", "v1", "1"),
		ev("2", "pv", "https://acme.example/post/1", "v2", "3"),
		ev("3", "pv", "https://acme.example/post/1", "v1", "1"),
		ev("4", "pp", "https://acme.example/post/1", "v1", "1"),
		{"eid": "5", "aid": "acme.example", "e": "se", "se_ca": "video", "se_ac": "start", "url": "https://acme.example/post/1"},
		{"eid": "6", "aid": "acme.example", "e": "se", "se_ca": "video", "se_ac": "pause", "url": "https://acme.example/post/1"},
	})
	// A retry of event 2 in a later bucket counts once.
	x.Record(b.Add(5*time.Minute), []map[string]string{ev("2", "pv", "https://acme.example/post/1", "v2", "3")})
	got := x.Total(nil)
	want := Totals{Pageviews: 3, Pings: 1, VideoStarts: 1, Visitors: 2, NewVisitors: 1, ReturningVisitors: 1}
	if got != want {
		t.Errorf("Total = %+v, want %+v", got, want)
	}
	if x.Sent["acme.example"] != 6 || len(x.Keys()) != 1 || x.Keys()[0].URL != "https://acme.example/post/1" {
		t.Errorf("sent %v keys %v", x.Sent, x.Keys())
	}
	path := t.TempDir() + "/exp.jsonl"
	if err := x.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}
