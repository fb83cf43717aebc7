package main

import "testing"

// TestFaultsCommandLines checks `brooks faults` on command lines that need
// no server: the kind list, and plant refusing bad input with a usage
// error before it touches a store.
func TestFaultsCommandLines(t *testing.T) {
	plant := func(extra ...string) []string {
		return append([]string{"faults", "plant", "--system", "nextgen", "--customer", "acme.example",
			"--from", "2026-12-04T04:20:00Z", "--to", "2026-12-04T04:25:00Z"}, extra...)
	}
	for _, tt := range []struct {
		name string
		args []string
		want int
	}{
		{"list", []string{"faults", "list"}, exitOK},
		{"unknown kind", plant("--kind", "melt"), exitUsage},
		{"drop-url without url", plant("--kind", "drop-url"), exitUsage},
		{"fraction out of range", plant("--kind", "drop-fraction", "--fraction", "2"), exitUsage},
		{"partition lag is not plantable", plant("--kind", "partition-lag"), exitUsage},
		{"bad time", []string{"faults", "plant", "--kind", "double", "--system", "legacy", "--customer", "acme.example", "--from", "yesterday", "--to", "2026-12-04T04:25:00Z"}, exitUsage},
		{"unaligned range", []string{"faults", "plant", "--kind", "double", "--system", "legacy", "--customer", "acme.example", "--from", "2026-12-04T04:21:00Z", "--to", "2026-12-04T04:25:00Z"}, exitUsage},
		{"unknown system", []string{"faults", "plant", "--kind", "double", "--system", "both", "--customer", "acme.example", "--from", "2026-12-04T04:20:00Z", "--to", "2026-12-04T04:25:00Z"}, exitUsage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args); got != tt.want {
				t.Errorf("brooks %v exited %d, want %d", tt.args, got, tt.want)
			}
		})
	}
}
