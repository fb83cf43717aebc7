package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/diff"
)

func TestTruthCountsEachEventOnce(t *testing.T) {
	sink, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	h1 := h0.Add(time.Hour)
	writePart(t, sink, "acme.example", h0, 0, 10) // acme.example-0 .. -9
	writePart(t, sink, "acme.example", h1, 5, 10) // -5 .. -14: -5..-9 are retries of h0's
	onlyTeens := func(line []byte) bool { return bytes.Contains(line, []byte(`"eid":"acme.example-1`)) }
	tests := []struct {
		name     string
		lookback time.Duration
		want     map[string]int64 // subset -> count in h1
	}{
		{"retries of an earlier hour in the lookback are not new", time.Hour, map[string]int64{"all": 5, "teens": 5}},
		{"without lookback the retries count as first seen", 0, map[string]int64{"all": 10, "teens": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Truth(ctx, sink, "acme.example", h1, h1.Add(time.Hour), tt.lookback, map[string]Subset{"all": nil, "teens": onlyTeens})
			if err != nil {
				t.Fatal(err)
			}
			for name, n := range tt.want {
				if c := got[name][h1].Count; c != n {
					t.Errorf("%s: %d in %s, want %d", name, c, h1.Format("15:04"), n)
				}
				if _, ok := got[name][h0]; ok {
					t.Errorf("%s: hour before from reported", name)
				}
			}
			var want ledger.Tally
			for _, id := range []string{"acme.example-10", "acme.example-11", "acme.example-12", "acme.example-13", "acme.example-14"} {
				want.Add(id)
			}
			if got["teens"][h1] != want {
				t.Errorf("teens tally %+v, want %+v", got["teens"][h1], want)
			}
		})
	}
}

func TestVerifyCustomersVerdicts(t *testing.T) {
	root := t.TempDir()
	sink, err := NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	writePart(t, sink, "acme.example", h0, 0, 10)
	writePart(t, sink, "beta.example", h0, 0, 4)
	tests := []struct {
		name      string
		customers []string
		from, to  time.Time
		minParts  int
		want      diff.Verdict
		reason    string
	}{
		{"every customer, parts match", []string{"acme.example", "beta.example"}, h0, h0.Add(time.Hour), 1, diff.VerdictMatch, ""},
		{"a period without parts is inconclusive", []string{"acme.example"}, h0.Add(time.Hour), h0.Add(2 * time.Hour), 1, diff.VerdictInconclusive, "no closed parts"},
		{"fewer parts than the minimum", []string{"acme.example"}, h0, h0.Add(time.Hour), 2, diff.VerdictInconclusive, "fewer than the minimum 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := VerifyCustomers(ctx, sink, root, tt.customers, tt.from, tt.to, tt.minParts)
			if err != nil {
				t.Fatal(err)
			}
			if v.Verdict != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("verdict %s (%q), want %s (%q)", v.Verdict, v.Reason, tt.want, tt.reason)
			}
			// One JSON document holding every customer's per-hour tallies.
			var buf bytes.Buffer
			if err := json.NewEncoder(&buf).Encode(v); err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(&buf)
			var doc struct {
				Schema    string `json:"schema"`
				Customers []struct {
					Customer string `json:"customer"`
					Hours    []struct {
						Events int64  `json:"events"`
						Hash   string `json:"eid_hash"`
					} `json:"hours"`
				} `json:"customers"`
			}
			if err := dec.Decode(&doc); err != nil || dec.More() || doc.Schema != VerifySchema || len(doc.Customers) != len(tt.customers) {
				t.Fatalf("JSON: err %v, more %v, %+v", err, dec.More(), doc)
			}
			if tt.want == diff.VerdictMatch && (len(doc.Customers[0].Hours) != 1 || doc.Customers[0].Hours[0].Events != 10 || len(doc.Customers[0].Hours[0].Hash) != 16) {
				t.Errorf("per-hour tallies: %+v", doc.Customers[0].Hours)
			}
		})
	}
}
