package loadgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadExpectationsSumsRuns(t *testing.T) {
	dir := t.TempDir()
	b := time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)
	run := func(seed uint64, n int) string {
		x := NewExpectations()
		g := NewGenerator(seed, DefaultProfiles(), 50)
		var evs []map[string]string
		for range n {
			evs = append(evs, g.Next())
		}
		x.Record(b, evs)
		p := filepath.Join(dir, "exp"+string(rune('a'+seed))+".jsonl")
		if err := x.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one, two := run(1, 300), run(2, 200)
	a, err := ReadExpectations(one)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := ReadExpectations(two)
	if err != nil {
		t.Fatal(err)
	}
	both, err := ReadExpectations(one, two)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(ls []Line) (pv, pings, vs int) {
		for _, l := range ls {
			pv, pings, vs = pv+l.Pageviews, pings+l.Pings, vs+l.VideoStarts
		}
		return
	}
	p1, g1, v1 := sum(a)
	p2, g2, v2 := sum(b2)
	pb, gb, vb := sum(both)
	if pb != p1+p2 || gb != g1+g2 || vb != v1+v2 || p1 == 0 {
		t.Errorf("sums: one %d/%d/%d, two %d/%d/%d, both %d/%d/%d", p1, g1, v1, p2, g2, v2, pb, gb, vb)
	}
	if len(both) > len(a)+len(b2) {
		t.Errorf("%d cells from %d + %d", len(both), len(a), len(b2))
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"customer":"acme.example","bucket":"2026-11-25T10:05:00Z"}`+"\n{nope\n"), 0o644)
	if _, err := ReadExpectations(bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad file: %v", err)
	}
}

func TestNewSeedDiffers(t *testing.T) {
	seen := map[uint64]bool{}
	for range 100 {
		s := NewSeed()
		if seen[s] || s>>63 != 0 {
			t.Fatalf("seed %d repeated or above int64", s)
		}
		seen[s] = true
	}
}
