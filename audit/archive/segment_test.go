package archive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/pixel"
)

func eventJSON(t *testing.T, eid, customer string, at time.Time) []byte {
	t.Helper()
	e := pixel.Event{EID: eid, Customer: customer, Type: pixel.TypePageView, ReceivedAt: at, URL: "https://" + customer + "/post/1"}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writePart closes a part of n events of customer at hour, plus one
// invalid record, and returns its manifest and the records.
func writePart(t *testing.T, sink Sink, customer string, hour time.Time, first int64, n int) (*Manifest, [][]byte) {
	t.Helper()
	ctx := context.Background()
	s, err := openSegment(ctx, sink, segKey{customer, hour}, 2, first, -1, hour)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for i := range n {
		eid := fmt.Sprintf("%s-%d", customer, first+int64(i))
		v := eventJSON(t, eid, customer, hour.Add(time.Duration(i)*time.Second))
		if err := s.add(first+int64(2*i), v, eid); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, v)
	}
	m, err := s.close(ctx, sink, "topic-x", ReasonRoll, "test", hour.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return m, lines
}

func TestPartRoundTrip(t *testing.T) {
	ctx := context.Background()
	sink, _ := NewLocal(t.TempDir())
	hour := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	m, lines := writePart(t, sink, "acme.example", hour, 100, 50)

	got, err := ReadManifest(ctx, sink, m.ManifestKey())
	if err != nil {
		t.Fatal(err)
	}
	var want ledger.Tally
	for i := range 50 {
		want.Add(fmt.Sprintf("acme.example-%d", 100+i))
	}
	tl, err := got.Tally()
	if err != nil || tl != want {
		t.Errorf("manifest tally %v (%v), want %v", tl, err, want)
	}
	if got.Events != 50 || got.FirstOffset != 100 || got.LastOffset != 198 || got.Partition != 2 || got.Topic != "topic-x" ||
		got.Customer != "acme.example" || !got.Hour.Equal(hour) || got.Reason != ReasonRoll || len(got.SHA256) != 64 {
		t.Errorf("manifest %+v", got)
	}
	st, err := os.Stat(filepath.Join(sink.Root(), filepath.FromSlash(m.Key)))
	if err != nil || st.Size() != got.Bytes {
		t.Errorf("file size %v (%v), manifest says %d", st, err, got.Bytes)
	}
	i := 0
	err = ReadPart(ctx, sink, got, func(v []byte) error {
		if string(v) != string(lines[i]) {
			t.Errorf("line %d = %s, want %s", i, v, lines[i])
		}
		i++
		return nil
	})
	if err != nil || i != 50 {
		t.Errorf("ReadPart: %d lines, %v", i, err)
	}
	rep, err := Verify(ctx, sink, "acme.example", hour, hour.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Parts != 1 || rep.Events != 50 || rep.Tallies[ledger.KeyOf("acme.example", hour)] != want {
		t.Errorf("verify: %+v", rep)
	}
}

func TestInvalidRecordsAreKeptNotHashed(t *testing.T) {
	ctx := context.Background()
	sink, _ := NewLocal(t.TempDir())
	hour := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s, err := openSegment(ctx, sink, segKey{InvalidCustomer, hour}, 0, 7, -1, hour)
	if err != nil {
		t.Fatal(err)
	}
	s.add(7, []byte("{not json"), "")
	s.add(8, []byte("{\"a\":\n1}"), "") // a raw newline stays within one line
	m, err := s.close(ctx, sink, "t", ReasonShutdown, "test", hour)
	if err != nil {
		t.Fatal(err)
	}
	if m.Events != 2 || m.Invalid != 2 || m.EIDHash != HashHex(0) {
		t.Errorf("manifest %+v", m)
	}
	if _, ok := tallies(m); ok {
		t.Error("invalid records would be recorded in the ledger")
	}
	rep, err := Verify(ctx, sink, InvalidCustomer, hour, hour.Add(time.Hour))
	if err != nil || !rep.OK() || rep.Events != 2 {
		t.Errorf("verify %+v %v", rep, err)
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	hour := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		damage  func(t *testing.T, root string, m *Manifest)
		problem string
		orphan  bool
	}{
		{"a flipped byte", func(t *testing.T, root string, m *Manifest) {
			p := filepath.Join(root, m.Key)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}, "", false},
		{"a truncated file", func(t *testing.T, root string, m *Manifest) {
			p := filepath.Join(root, m.Key)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-10], 0o644)
		}, "", false},
		{"a lost part file", func(t *testing.T, root string, m *Manifest) {
			os.Remove(filepath.Join(root, m.Key))
		}, "part file missing", false},
		{"a manifest whose count lies", func(t *testing.T, root string, m *Manifest) {
			m.Events++
			if err := writeManifest(context.Background(), mustLocal(t, root), m); err != nil {
				t.Fatal(err)
			}
		}, "records (0 invalid), manifest says 21", false},
		{"a manifest whose hash lies", func(t *testing.T, root string, m *Manifest) {
			m.EIDHash = HashHex(42)
			writeManifest(context.Background(), mustLocal(t, root), m)
		}, "event-id hash", false},
		{"an event of another hour", func(t *testing.T, root string, m *Manifest) {
			m2, _ := writePart(t, mustLocal(t, root), "acme.example", hour.Add(time.Hour), 500, 1)
			// Move the other hour's part into this hour under a new name.
			os.Rename(filepath.Join(root, m2.Key), filepath.Join(root, "acme.example/2026-11-25/10/p2-00000000000000000500.ndjson.gz"))
			m2.Key, m2.Hour = "acme.example/2026-11-25/10/p2-00000000000000000500.ndjson.gz", hour
			writeManifest(context.Background(), mustLocal(t, root), m2)
		}, "records of another customer or hour", false},
		{"a part without manifest", func(t *testing.T, root string, m *Manifest) {
			os.Remove(filepath.Join(root, m.ManifestKey()))
		}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			sink := mustLocal(t, root)
			m, _ := writePart(t, sink, "acme.example", hour, 0, 20)
			tc.damage(t, root, m)
			rep, err := Verify(context.Background(), sink, "acme.example", hour, hour.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if tc.orphan {
				if len(rep.Orphans) != 1 || !rep.OK() {
					t.Errorf("orphans %v problems %v", rep.Orphans, rep.Problems)
				}
				return
			}
			if rep.OK() {
				t.Fatalf("damage not found: %+v", rep)
			}
			if tc.problem != "" && !strings.Contains(fmt.Sprint(rep.Problems), tc.problem) {
				t.Errorf("problems %v, want one with %q", rep.Problems, tc.problem)
			}
		})
	}
}

func mustLocal(t *testing.T, root string) *Local {
	t.Helper()
	s, err := NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
