package replay

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/pixel"
)

// TestDecodeEventMatchesPixelUnmarshal: the lean decoder reads every field
// pixel.Unmarshal does except Raw, and refuses what it refuses.
func TestDecodeEventMatchesPixelUnmarshal(t *testing.T) {
	gen := loadgen.NewGenerator(3, loadgen.DefaultProfiles(), 0)
	for i := range 500 {
		p := gen.Next()
		e := pixel.Event{EID: p["eid"], Customer: p["aid"], Type: p["e"], ReceivedAt: time.Now().UTC(), URL: p["url"], Referrer: p["refr"],
			DUID: p["duid"], NUID: "n", VisitIndex: i % 4, SessionID: p["sid"], DeviceTime: "1", SentTime: "2", UserAgent: "ua",
			SECategory: p["se_ca"], SEAction: p["se_ac"], SELabel: "l", SEProperty: "p", SEValue: "v", Raw: p}
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := pixel.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEvent(b, false)
		if err != nil {
			t.Fatal(err)
		}
		want.Raw = nil
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("record %d (-pixel.Unmarshal +decodeEvent):\n%s", i, d)
		}
		if full, _ := decodeEvent(b, true); len(full.Raw) == 0 {
			t.Fatal("full decode dropped Raw")
		}
	}
	for _, bad := range []string{`{"aid":"a","e":"pv","rt":"2026-11-25T10:00:00Z"}`, `{"eid":"x","aid":"a","e":"pv"}`, `not json`, `{"eid":1}`} {
		if _, err := decodeEvent([]byte(bad), false); err == nil {
			t.Errorf("%s: decoded, want an error", bad)
		}
		if _, err := pixel.Unmarshal([]byte(bad)); err == nil {
			t.Errorf("%s: pixel.Unmarshal accepts it", bad)
		}
	}
}
