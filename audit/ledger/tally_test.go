package ledger

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTallyIsOrderFreeAndSeesDoubles(t *testing.T) {
	ids := []string{"a", "b", "c", "d"}
	var fwd, rev, dbl Tally
	for i := range ids {
		fwd.Add(ids[i])
		rev.Add(ids[len(ids)-1-i])
		dbl.Add(ids[i])
	}
	dbl.Add("b")
	if fwd != rev {
		t.Errorf("order changed the tally: %v vs %v", fwd, rev)
	}
	if dbl.Hash == fwd.Hash {
		t.Error("a doubled event left the hash unchanged")
	}
	var lost Tally
	for _, id := range ids[1:] {
		lost.Add(id)
	}
	if lost.Hash == fwd.Hash {
		t.Error("a lost event left the hash unchanged")
	}
	// Splitting into batches and merging gives the same tally.
	var a, b Tally
	a.Add("a")
	a.Add("c")
	b.Add("d")
	b.Add("b")
	a.Merge(b)
	if a != fwd {
		t.Errorf("merged %v, want %v", a, fwd)
	}
}

func TestAccumulator(t *testing.T) {
	acc := NewAccumulator()
	t0 := time.Date(2026, 11, 25, 10, 59, 59, 0, time.UTC)
	acc.Add("acme", t0, "e1")
	acc.Add("acme", t0.Add(time.Second), "e2")
	acc.Add("acme", t0, "e3")
	m := acc.Drain()
	if got := m[KeyOf("acme", t0)].Count; got != 2 {
		t.Errorf("hour 10 count = %d", got)
	}
	if got := m[Key{"acme", time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)}].Count; got != 1 {
		t.Errorf("hour 11 count = %d", got)
	}
	if len(acc.Drain()) != 0 {
		t.Error("drain did not empty")
	}
	acc.Restore(m)
	acc.Add("acme", t0, "e4")
	if got := acc.Drain()[KeyOf("acme", t0)].Count; got != 3 {
		t.Errorf("restored count = %d", got)
	}
}

func TestTallyUnmarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Tally
		wantErr bool
	}{
		{`{"count":3,"hash":"00000000000000ff"}`, Tally{Count: 3, Hash: 255}, false},
		{`{"count":3,"hash":18446744073709551615}`, Tally{Count: 3, Hash: 1<<64 - 1}, false},
		{`{"count":2}`, Tally{Count: 2}, false},
		{`{"count":1,"hash":"xyz"}`, Tally{}, true},
		{`{"count":1,"hash":true}`, Tally{}, true},
	} {
		var got Tally
		err := json.Unmarshal([]byte(tc.in), &got)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("%s: %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
