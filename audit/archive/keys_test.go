package archive

import (
	"testing"
	"time"
)

func TestKeys(t *testing.T) {
	h := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)
	key := PartKey("acme.example", h, 3, 1234)
	if want := "acme.example/2026-11-25/07/p3-00000000000000001234.ndjson.gz"; key != want {
		t.Fatalf("PartKey = %s, want %s", key, want)
	}
	if got := ManifestKeyOf(key); got != "acme.example/2026-11-25/07/p3-00000000000000001234.manifest.json" {
		t.Errorf("ManifestKeyOf = %s", got)
	}
	// A non-UTC hour lands in its UTC folder.
	ny := time.FixedZone("NY", -5*3600)
	if got := HourPrefix("c", time.Date(2026, 11, 25, 22, 0, 0, 0, ny)); got != "c/2026-11-26/03/" {
		t.Errorf("HourPrefix = %s", got)
	}
	tests := []struct {
		name      string
		partition int
		first     int64
		ok        bool
	}{
		{"c/d/h/p3-00000000000000001234.ndjson.gz", 3, 1234, true},
		{"p12-00000000000000000000.manifest.json", 12, 0, true},
		{"c/d/h/p3-1234.ndjson.gz", 0, 0, false},
		{"c/d/h/x3-00000000000000001234.ndjson.gz", 0, 0, false},
		{"c/d/h/p3-00000000000000001234.json", 0, 0, false},
	}
	for _, tc := range tests {
		p, f, ok := ParseName(tc.name)
		if ok != tc.ok || p != tc.partition || f != tc.first {
			t.Errorf("ParseName(%s) = %d, %d, %v", tc.name, p, f, ok)
		}
	}
}

func TestValidCustomer(t *testing.T) {
	for id, want := range map[string]bool{
		"acme.example": true, "blog-1_x": true, "": false, "../etc": false, "a/b": false,
		".hidden": false, InvalidCustomer: false, "x y": false,
	} {
		if got := ValidCustomer(id); got != want {
			t.Errorf("ValidCustomer(%q) = %v", id, got)
		}
	}
}
