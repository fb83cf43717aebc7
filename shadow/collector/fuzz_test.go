package collector_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/collector"
)

// Real tp2 bodies of the Snowplow JavaScript browser tracker (js-4.10.1 in
// headless Chromium, captured by browsertest with BROOKS_CAPTURE_TP2): a
// page view and a page ping.
const (
	trackerPV = "testdata/tracker-tp2-pv.json"
	trackerPP = "testdata/tracker-tp2-pp.json"
)

// staticRegistry is the fuzz and benchmark registry: a fixed set of
// customers, no file.
func staticRegistry(tb testing.TB) *pixel.Customers {
	tb.Helper()
	cs, err := pixel.NewCustomers(
		&pixel.Customer{ID: "acme.example", PostPattern: `^https://acme\.example/post/`, HeartbeatSeconds: 10},
		&pixel.Customer{ID: "globex.example", PostPattern: `^https://globex\.example/`, HeartbeatSeconds: 15},
	)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

// trackerEvent reads the one event of a captured tp2 body.
func trackerEvent(tb testing.TB, path string) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	evs, err := collector.ParseEnvelope(b)
	if err != nil || len(evs) != 1 {
		tb.Fatalf("%s: %d events, %v", path, len(evs), err)
	}
	return evs[0]
}

// query encodes tracker parameters as a GET /i query string.
func query(p map[string]string) string {
	v := url.Values{}
	for k, x := range p {
		v.Set(k, x)
	}
	return v.Encode()
}

var knownReasons = map[string]bool{
	collector.ReasonBadJSON: true, collector.ReasonBadEnvelope: true, collector.ReasonBadQuery: true,
	collector.ReasonMissingAID: true, collector.ReasonMissingEvent: true, collector.ReasonUnknownCustomer: true,
	collector.ReasonBodyTooLarge: true, collector.ReasonTooManyEvents: true, collector.ReasonFieldTooLong: true,
	collector.ReasonBadField: true, collector.ReasonMethodNotAllowed: true, collector.ReasonBadContentType: true,
	collector.ReasonEventTooLarge: true,
}

// checkRejection: a refused input is a *Rejection with a 4xx status, a
// known reason label and a message for the sender.
func checkRejection(t *testing.T, where string, err error) {
	t.Helper()
	var rej *collector.Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("%s: error %T %v is not a *Rejection", where, err, err)
	}
	if rej.Status < 400 || rej.Status > 499 || !knownReasons[rej.Reason] || rej.Message == "" {
		t.Fatalf("%s: rejection %d %q %q: want a 4xx, a known reason and a message", where, rej.Status, rej.Reason, rej.Message)
	}
}

// checkRequest runs one request's parameter sets through BuildEvent and the
// record encoding, as the collector does, and checks every accepted event.
func checkRequest(t *testing.T, where string, reg *pixel.Customers, params []map[string]string) {
	t.Helper()
	received := time.Date(2026, 11, 25, 12, 34, 56, 789_000_000, time.UTC)
	for _, p := range params {
		e, rej := collector.BuildEvent(p, received, "nuid-cookie", "fuzz-agent/1.0", reg)
		if rej != nil {
			checkRejection(t, where+": BuildEvent", rej)
			continue
		}
		if e.EID == "" || e.Customer == "" || e.Type == "" {
			t.Fatalf("%s: accepted event without eid/aid/e: %+v", where, e)
		}
		if _, err := reg.Get(e.Customer); err != nil {
			t.Fatalf("%s: accepted event of unknown customer %q", where, e.Customer)
		}
		if e.Customer != strings.TrimSpace(p["aid"]) || e.Type != strings.TrimSpace(p["e"]) {
			t.Fatalf("%s: aid/e %q/%q from params %q/%q", where, e.Customer, e.Type, p["aid"], p["e"])
		}
		if id := strings.TrimSpace(p["eid"]); id != "" && e.EID != id {
			t.Fatalf("%s: eid %q from param %q", where, e.EID, p["eid"])
		}
		if !e.ReceivedAt.Equal(received) {
			t.Fatalf("%s: received at %v, stamped %v", where, e.ReceivedAt, received)
		}
		// Nothing the tracker sent is lost: every parameter the event has
		// no field for is kept raw for the archive.
		for k, v := range p {
			if !mapped[k] && e.Raw[k] != v {
				t.Fatalf("%s: parameter %q=%q not kept raw (%q)", where, k, v, e.Raw[k])
			}
		}
		b, err := e.Marshal()
		if err != nil {
			t.Fatalf("%s: marshal accepted event: %v", where, err)
		}
		// Every accepted event fits in a Kafka record the broker takes.
		if len(b) > collector.MaxEventBytes+recordOverhead {
			t.Fatalf("%s: accepted event encodes to %d bytes, over %d", where, len(b), collector.MaxEventBytes+recordOverhead)
		}
		back, err := pixel.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: the record %s does not decode: %v", where, b, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: record does not round-trip:\nevent %+v\nback  %+v\nrecord %s", where, e, back, b)
		}
	}
}

// recordOverhead bounds what a record adds to its event's parameters: field
// names, rt, a collector-set nuid (a cookie of at most 64 bytes).
const recordOverhead = 1024

// mapped are the parameters pixel.Event holds in fields of its own.
var mapped = map[string]bool{
	"aid": true, "e": true, "eid": true, "url": true, "refr": true, "duid": true, "nuid": true,
	"vid": true, "sid": true, "dtm": true, "stm": true, "ua": true,
	"se_ca": true, "se_ac": true, "se_la": true, "se_pr": true, "se_va": true,
}

// FuzzParse feeds each input both as a GET /i query string and as a POST
// tp2 body, end to end through ParseQuery/ParseEnvelope, BuildEvent and the
// Kafka record encoding. Properties: no panic; every input either yields
// events or a *Rejection with a 4xx status and a reason; accepted events
// have eid, aid and e, keep every parameter, fit in a Kafka record and
// round-trip through pixel.Unmarshal; the GET and tp2 forms of the same
// parameters parse alike.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 2m ./shadow/collector
func FuzzParse(f *testing.F) {
	reg := staticRegistry(f)
	pv, err := os.ReadFile(trackerPV)
	if err != nil {
		f.Fatal(err)
	}
	pp, err := os.ReadFile(trackerPP)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pv)
	f.Add(pp)
	f.Add([]byte(query(trackerEvent(f, trackerPV))))
	// A batch of the real tracker's events, as it sends with bufferSize > 1.
	pvEv, ppEv := strings.TrimSuffix(strings.SplitN(string(pv), `"data":[`, 2)[1], "]}"), strings.TrimSuffix(strings.SplitN(string(pp), `"data":[`, 2)[1], "]}")
	f.Add([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[` + pvEv + "," + ppEv + "," + ppEv + `]}`))
	for _, s := range []string{
		// GET /i queries.
		"aid=acme.example&e=pv&eid=3f1c2b4a-0000-4000-8000-000000000001&url=https%3A%2F%2Facme.example%2Fpost%2F1&duid=v1&vid=1&sid=s1&tv=go-3.0.0",
		"aid=globex.example&e=se&se_ca=video&se_ac=start&se_la=intro&se_va=1.5&url=https://globex.example/2026/11/x",
		"aid=acme.example&e=pp&vid=2&nuid=n1&ua=Mozilla%2F5.0&refr=https%3A%2F%2Fwww.google.com%2F",
		"aid=%20acme.example%20&e=%20pv%20&eid=",
		"aid=acme.example&e=pv&vid=-1",
		"aid=acme.example&e=pv&vid=99999999999999999999",
		"aid=acme.example&e=pv&eid=a%20b",
		"aid=acme.example&e=pv&url=%ff%fe",
		"aid=unknown.example&e=pv",
		"aid=acme.example&aid=globex.example&e=pv&e=pp",
		"aid=%zz",
		"aid=acme.example;e=pv",
		"e=pv",
		"aid=acme.example",
		"",
		"&&&=&=",
		// tp2 envelopes.
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"aid":"acme.example","e":"pv","vid":2,"cookie":true,"x":null}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-0","data":[{"aid":"acme.example","e":"pv","vid":1e3}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"aid":"acme.example","e":"pv","vid":1.5}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"aid":"acme.example","e":"pv","nested":{"a":1}}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"aid":"acme.example","e":"pv"},{"e":"pv"}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[null,1,"x",[]]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":null}`,
		`{"schema":"iglu:x/y/jsonschema/1-0-0","data":[{"aid":"acme.example","e":"pv"}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"aid":"acme.example","e":"pv","url":"\ud800"}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"aid":"acme.example","e":"pv","":"empty key","eid":"\u0000"}]}`,
		`[`,
		`{"data":[{"aid":"acme.example","e":"pv"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if p, err := collector.ParseQuery(string(in)); err != nil {
			checkRejection(t, "ParseQuery", err)
		} else {
			checkRequest(t, "GET", reg, []map[string]string{p})
			// The same parameters sent as a tp2 POST are the same event.
			if _, rej := collector.BuildEvent(p, time.Now(), "", "", reg); rej == nil {
				body, err := json.Marshal(map[string]any{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": []any{p}})
				if err != nil {
					t.Fatal(err)
				}
				evs, err := collector.ParseEnvelope(body)
				if err != nil || len(evs) != 1 || !maps.Equal(evs[0], p) {
					t.Fatalf("GET params %q as tp2 %s: %q, %v", p, body, evs, err)
				}
			}
		}
		if evs, err := collector.ParseEnvelope(in); err != nil {
			checkRejection(t, "ParseEnvelope", err)
		} else {
			if len(evs) == 0 {
				t.Fatalf("ParseEnvelope accepted a body of no events")
			}
			checkRequest(t, "POST", reg, evs)
			// Each event sent as a GET /i pixel has the same parameters.
			for _, p := range evs {
				q, err := collector.ParseQuery(query(p))
				if err != nil || !maps.Equal(q, p) {
					t.Fatalf("tp2 event %q as GET %q: %q, %v", p, query(p), q, err)
				}
			}
		}
	})
}

// TestEventTooLargeIsRejected: an event within every per-field limit whose
// record would still be too big for Kafka (HTML characters encode to six
// bytes each) is a 400, not an event the broker refuses (a 503 that
// trackers retry forever). Just under the bound it is accepted, and its
// record fits.
func TestEventTooLargeIsRejected(t *testing.T) {
	reg := staticRegistry(t)
	now := time.Now()
	base := func() map[string]string {
		return map[string]string{"aid": "acme.example", "e": "pv", "eid": "big-1"}
	}
	// 40 fields of 8 KiB of '<': 320 KiB sent, about 2 MB encoded.
	p := base()
	for i := range 40 {
		p[fmt.Sprintf("f%02d", i)] = strings.Repeat("<", collector.MaxFieldBytes)
	}
	_, rej := collector.BuildEvent(p, now, "", "ua", reg)
	if rej == nil || rej.Status != 400 || rej.Reason != collector.ReasonEventTooLarge {
		t.Fatalf("HTML-heavy event: %v, want 400 %s", rej, collector.ReasonEventTooLarge)
	}
	// A User-Agent header taken as ua counts too.
	_, rej = collector.BuildEvent(base(), now, "", strings.Repeat("&", collector.MaxEventBytes/6+1), reg)
	if rej == nil || rej.Reason != collector.ReasonEventTooLarge {
		t.Fatalf("huge User-Agent: %v, want %s", rej, collector.ReasonEventTooLarge)
	}
	// Just under the bound: accepted, and the record is within it.
	p = base()
	for i := 0; ; i++ {
		v := strings.Repeat("<", 4000)
		if (i+1)*(6*4000+2+2+5+2) > collector.MaxEventBytes-512 {
			break
		}
		p[fmt.Sprintf("f%02d", i)] = v
	}
	e, rej := collector.BuildEvent(p, now, "", "ua", reg)
	if rej != nil {
		t.Fatalf("event just under the bound: %v", rej)
	}
	b, err := e.Marshal()
	if err != nil || len(b) > collector.MaxEventBytes || len(b) < collector.MaxEventBytes*9/10 {
		t.Fatalf("record of %d bytes (%v), want just under %d", len(b), err, collector.MaxEventBytes)
	}
}
