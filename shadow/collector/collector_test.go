package collector_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/pixel"
)

// readAll reads the topic until want records arrived or wait passed, and
// returns them by event id.
func readAll(t *testing.T, cfg config.Config, want int, wait time.Duration) map[string][]pixel.Event {
	t.Helper()
	got := map[string][]pixel.Event{}
	for _, m := range stacktest.ReadTopic(t, cfg, want, wait, time.Second) {
		e, err := pixel.Unmarshal(m.Value)
		if err != nil {
			t.Fatalf("record at offset %d: %v", m.Offset, err)
		}
		if string(m.Key) != e.Customer {
			t.Errorf("record key %q, customer %q", m.Key, e.Customer)
		}
		got[e.EID] = append(got[e.EID], e)
	}
	return got
}

func TestAcknowledgedEventsAreInKafka(t *testing.T) {
	p := stacktest.Start(t)
	exp := stacktest.Send(t, p, loadgen.Options{Seed: 7, Events: 3000, Batch: 25})
	gif := stacktest.Send(t, p, loadgen.Options{Seed: 8, Events: 200, Batch: 1})
	want := 0
	for _, x := range []*loadgen.Expectations{exp, gif} {
		for _, n := range x.Sent {
			want += n
		}
	}
	if want != 3200 {
		t.Fatalf("loadgen acknowledged %d events, want 3200", want)
	}
	got := readAll(t, p.Cfg, want, 20*time.Second)
	if len(got) != want {
		t.Fatalf("kafka holds %d distinct events, want %d", len(got), want)
	}
	dups := 0
	for _, x := range []*loadgen.Expectations{exp, gif} {
		for cust, eids := range x.EIDs {
			for _, id := range eids {
				evs := got[id]
				switch {
				case len(evs) == 0:
					t.Fatalf("acknowledged event %s is not in kafka", id)
				case len(evs) > 1:
					// At-least-once: a produce that succeeded but answered
					// late is retried by the producer. Consumers count an
					// eid once; here it must stay rare.
					dups++
				}
				if evs[0].Customer != cust || evs[0].ReceivedAt.IsZero() {
					t.Fatalf("event %s: %+v", id, evs[0])
				}
			}
		}
	}
	if dups > want/100 {
		t.Errorf("%d of %d acknowledged events are in kafka more than once", dups, want)
	} else if dups > 0 {
		t.Logf("%d of %d acknowledged events written twice by a producer retry", dups, want)
	}
	// The collector's ledger counted exactly what it acknowledged.
	var counted int64
	for _, tl := range p.Ledger.Drain() {
		counted += tl.Count
	}
	if counted != int64(want) {
		t.Errorf("ledger counted %d, want %d", counted, want)
	}
}

func TestBadInputGets4xx(t *testing.T) {
	p := stacktest.Start(t)
	env := func(data string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":` + data + `}`
	}
	good := `{"aid":"acme.example","e":"pv","eid":"good-1","url":"https://acme.example/post/1"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		reason                   string
	}{
		{"missing aid", "GET", "/i?e=pv&url=x", "", 400, "missing_aid"},
		{"missing e", "GET", "/i?aid=acme.example", "", 400, "missing_e"},
		{"unknown customer", "GET", "/i?aid=evil.example&e=pv", "", 400, "unknown_customer"},
		{"bad query", "GET", "/i?aid=%zz", "", 400, "bad_query_string"},
		{"bad vid", "GET", "/i?aid=acme.example&e=pv&vid=-2", "", 400, "bad_field"},
		{"eid with space", "GET", "/i?aid=acme.example&e=pv&eid=a+b", "", 400, "bad_field"},
		{"field too long", "GET", "/i?aid=acme.example&e=pv&url=" + strings.Repeat("x", 9000), "", 400, "field_too_long"},
		{"post to pixel", "POST", "/i", "", 405, "method_not_allowed"},
		{"bad json", "POST", "/com.snowplowanalytics.snowplow/tp2", "{", 400, "bad_json"},
		{"wrong schema", "POST", "/com.snowplowanalytics.snowplow/tp2", `{"schema":"iglu:x/y/jsonschema/1-0-0","data":[]}`, 400, "malformed_envelope"},
		{"no events", "POST", "/com.snowplowanalytics.snowplow/tp2", env(`[]`), 400, "malformed_envelope"},
		{"event not object", "POST", "/com.snowplowanalytics.snowplow/tp2", env(`[1]`), 400, "malformed_envelope"},
		{"nested value", "POST", "/com.snowplowanalytics.snowplow/tp2", env(`[{"aid":"acme.example","e":"pv","x":{"a":1}}]`), 400, "bad_field"},
		{"one bad event rejects batch", "POST", "/com.snowplowanalytics.snowplow/tp2", env(`[` + good + `,{"e":"pv"}]`), 400, "missing_aid"},
		{"too many events", "POST", "/com.snowplowanalytics.snowplow/tp2", env(`[` + strings.TrimSuffix(strings.Repeat(`{"e":"pv"},`, 1001), ",") + `]`), 413, "too_many_events"},
		{"body too large", "POST", "/com.snowplowanalytics.snowplow/tp2", strings.Repeat(" ", 1<<20+1), 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, p.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.HasPrefix(string(b), tt.reason+":") {
				t.Errorf("%s %s = %d %q, want %d %s", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.reason)
			}
		})
	}
	// One good pixel after all that is accepted, and it is the only record
	// in the topic: nothing rejected reached Kafka.
	resp, err := getPixel(p.URL + "/i?aid=acme.example&e=pv&eid=only-good&url=https://acme.example/post/1")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("good pixel: %v %v", resp, err)
	}
	resp.Body.Close()
	got := readAll(t, p.Cfg, 1, 30*time.Second)
	if len(got) != 1 || got["only-good"] == nil {
		t.Errorf("topic holds %v, want only the good pixel", keys(got))
	}
	// Rejections are counted by reason.
	resp, err = http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `brooks_collector_rejected_total{reason="unknown_customer"} 1`) {
		t.Errorf("metrics lack the unknown_customer rejection")
	}
}

func TestCORSAndCookie(t *testing.T) {
	p := stacktest.Start(t)
	req, _ := http.NewRequest("OPTIONS", p.URL+"/com.snowplowanalytics.snowplow/tp2", nil)
	req.Header.Set("Origin", "https://acme.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://acme.example" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = getPixel(p.URL + "/i?aid=acme.example&e=pv&eid=c1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pixel answered %d", resp.StatusCode)
	}
	var sp string
	for _, c := range resp.Cookies() {
		if c.Name == "sp" {
			sp = c.Value
		}
	}
	got := readAll(t, p.Cfg, 1, 30*time.Second)
	if sp == "" || len(got["c1"]) != 1 || got["c1"][0].NUID != sp || got["c1"][0].Visitor() != sp {
		t.Errorf("network user id cookie %q not used as nuid: %+v", sp, got["c1"])
	}
}

// getPixel requests a pixel as a tracker does: a 503 asks it to retry,
// and a topic created a moment ago can refuse the first produce while its
// partition leaders settle.
func getPixel(url string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := http.Get(url)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable || attempt == 20 {
			return resp, err
		}
		resp.Body.Close()
		time.Sleep(250 * time.Millisecond)
	}
}

func keys(m map[string][]pixel.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func eidOf(t *testing.T, value []byte) string {
	t.Helper()
	e, err := pixel.Unmarshal(value)
	if err != nil {
		t.Fatal(err)
	}
	return e.EID
}
