package esindex_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

func TestIndexNames(t *testing.T) {
	n := esindex.Names{Prefix: "brooks"}
	at := time.Date(2026, 11, 25, 23, 55, 0, 0, time.UTC)
	tests := []struct{ got, want string }{
		{n.Index(rollup.FiveMinutes, at), "brooks-rollup-5m-2026.11.25"},
		{n.Index(rollup.OneDay, at), "brooks-rollup-1d-2026"},
		{n.Index(rollup.FiveMinutes, at.In(time.FixedZone("x", 3600))), "brooks-rollup-5m-2026.11.25"},
		{n.Pattern(rollup.FiveMinutes), "brooks-rollup-5m-*"},
		{n.Pattern(rollup.OneDay), "brooks-rollup-1d-*"},
		{n.Alias(rollup.OneDay), "brooks-rollup-1d"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestExpired(t *testing.T) {
	n := esindex.Names{Prefix: "p"}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		g     rollup.Granularity
		index string
		want  bool
	}{
		{rollup.FiveMinutes, "p-rollup-5m-2026.11.25", false},
		{rollup.FiveMinutes, "p-rollup-5m-2026.11.17", false}, // ends 11-18 00:00, 8 days before is 11-17 12:00
		{rollup.FiveMinutes, "p-rollup-5m-2026.11.16", true},
		{rollup.FiveMinutes, "p-rollup-5m-garbage", false},
		{rollup.FiveMinutes, "other-rollup-5m-2020.01.01", false},
		{rollup.OneDay, "p-rollup-1d-2025", false},
		{rollup.OneDay, "p-rollup-1d-2024", false}, // ends 2025-01-01, + 730 days = 2027-01-01
		{rollup.OneDay, "p-rollup-1d-2023", true},
	}
	for _, tt := range tests {
		if got := n.Expired(tt.g, tt.index, now); got != tt.want {
			t.Errorf("Expired(%s, %s) = %v, want %v", tt.g, tt.index, got, tt.want)
		}
	}
	if !esindex.BucketExpired(rollup.FiveMinutes, now.Add(-9*24*time.Hour).Unix(), now) {
		t.Error("9-day-old 5m bucket not expired")
	}
	if esindex.BucketExpired(rollup.OneDay, now.Add(-9*24*time.Hour).Unix(), now) {
		t.Error("9-day-old 1d bucket expired")
	}
}

func cell(t *testing.T, reg *rollup.Registry) *rollup.Cell {
	t.Helper()
	cs, err := pixel.NewCustomers(&pixel.Customer{ID: "acme.example", PostPattern: ".", HeartbeatSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	r := rollup.New(cs, rollup.Options{Registry: reg, Granularities: []rollup.Granularity{rollup.FiveMinutes}})
	at := time.Date(2026, 11, 25, 10, 7, 0, 0, time.UTC)
	for i, e := range []pixel.Event{
		{EID: "1", Customer: "acme.example", Type: "pv", ReceivedAt: at, DUID: "v\"1", VisitIndex: 1, URL: "https://acme.example/a\x01b"},
		{EID: "2", Customer: "acme.example", Type: "pv", ReceivedAt: at, DUID: "v2", VisitIndex: 2, URL: "https://acme.example/a\x01b"},
		{EID: "3", Customer: "acme.example", Type: "pp", ReceivedAt: at, DUID: "v2", URL: "https://acme.example/a\x01b"},
	} {
		if err := r.Add(4, int64(100+i), &e); err != nil {
			t.Fatal(err)
		}
	}
	if r.Len() != 1 {
		t.Fatalf("%d cells", r.Len())
	}
	return r.Cells()[0]
}

func TestDocRoundTrip(t *testing.T) {
	reg := rollup.DefaultRegistry
	c := cell(t, reg)
	doc := esindex.AppendDoc(nil, c)
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("doc is not JSON: %v\n%s", err, doc)
	}
	for field, want := range map[string]any{
		"customer": "acme.example", "bucket": "2026-11-25T10:05:00Z", "granularity": "5m", "partition": 4.0, "offset": 102.0,
		"d_referrer_domain": "", "d_referrer_category": "direct", "d_campaign": "", "d_device": "unknown",
		"m_pageviews": 2.0, "m_pings": 1.0, "m_engaged_seconds": 10.0, "m_video_starts": 0.0,
	} {
		if m[field] != want {
			t.Errorf("%s = %#v, want %#v", field, m[field], want)
		}
	}
	if v := m["v_visitors"].([]any); len(v) != 2 || v[0] != "v\"1" {
		t.Errorf("v_visitors = %v", v)
	}
	back, err := esindex.DecodeDoc(reg, doc)
	if err != nil {
		t.Fatal(err)
	}
	if back.Key != c.Key || back.Offset != c.Offset || back.Sum("engaged_seconds") != 10 || back.Count("returning_visitors") != 1 {
		t.Errorf("round trip: key %+v offset %d", back.Key, back.Offset)
	}
	id := esindex.DocID(reg, c.Key, c.Dims())
	if parts := strings.Split(id, "|"); len(parts) != 4 || parts[0] != "acme.example" || parts[1] != "1795601100" || parts[2] != "4" || len(parts[3]) != 32 {
		t.Errorf("doc id %q", id)
	}
}

// Documents written before a metric or dimension existed decode with it as
// 0 or "", and keep their id.
func TestOldDocReadByExtendedRegistry(t *testing.T) {
	old := cell(t, rollup.DefaultRegistry)
	doc := esindex.AppendDoc(nil, old)
	ext := rollup.MustRegistry(
		append(rollup.DefaultMetrics(), rollup.Metric{Name: "outbound_clicks", Kind: rollup.Sum, Amount: func(*rollup.Fact) int64 { return 0 }}),
		append(rollup.DefaultDimensions(), rollup.Dimension{Name: "language", Value: func(f *rollup.Fact) string { return f.Event.Raw["lang"] }}))
	c, err := esindex.DecodeDoc(ext, doc)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sum("outbound_clicks") != 0 || c.Dim("language") != "" || c.Sum("pageviews") != 2 {
		t.Errorf("extended read: clicks %d language %q pageviews %d", c.Sum("outbound_clicks"), c.Dim("language"), c.Sum("pageviews"))
	}
	if a, b := esindex.DocID(rollup.DefaultRegistry, old.Key, old.Dims()), esindex.DocID(ext, c.Key, c.Dims()); a != b {
		t.Errorf("id changed: %s -> %s", a, b)
	}
}

func TestDecodeDocErrors(t *testing.T) {
	for _, src := range []string{`not json`, `{}`, `{"customer":"a","granularity":"1h","bucket":"2026-11-25T00:00:00Z","partition":0,"offset":1}`,
		`{"customer":"a","granularity":"5m","bucket":"2026-11-25T00:00:00Z","partition":0,"offset":1,"m_pageviews":"x"}`} {
		if _, err := esindex.DecodeDoc(rollup.DefaultRegistry, []byte(src)); err == nil {
			t.Errorf("decoded %s", src)
		}
	}
}

func TestTemplateBody(t *testing.T) {
	var tpl struct {
		Patterns []string `json:"index_patterns"`
		Template struct {
			Settings map[string]any             `json:"settings"`
			Aliases  map[string]any             `json:"aliases"`
			Mappings map[string]json.RawMessage `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(esindex.Names{Prefix: "x"}.TemplateBody(rollup.OneDay, 1500*time.Millisecond), &tpl); err != nil {
		t.Fatal(err)
	}
	if tpl.Patterns[0] != "x-rollup-1d-*" || tpl.Template.Settings["number_of_shards"] != 1.0 || tpl.Template.Aliases["x-rollup-1d"] == nil ||
		tpl.Template.Settings["refresh_interval"] != "1500ms" {
		t.Errorf("template: %+v", tpl)
	}
	site := esindex.Names{Prefix: "x"}.Of(esindex.Sites)
	if err := json.Unmarshal(site.TemplateBody(rollup.FiveMinutes, 5*time.Second), &tpl); err != nil {
		t.Fatal(err)
	}
	if tpl.Patterns[0] != "x-rollup-site-5m-*" || tpl.Template.Settings["refresh_interval"] != "5s" || !strings.Contains(string(tpl.Template.Mappings["dynamic_templates"]), `"enabled":false`) {
		t.Errorf("site template: %+v", tpl)
	}
}
