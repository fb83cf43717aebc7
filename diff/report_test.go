package diff

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// goldenRun is the README's example: legacy vs nextgen over one hour, with
// the example rules, at 11:00 with a 10 minute settle delay.
func goldenRun(t *testing.T, format string) (int, []byte) {
	t.Helper()
	o := DefaultRunOptions()
	o.RulesFile, o.Now, o.Settle, o.Format = "testdata/rules.yaml", "2026-11-25T11:00:00Z", 10*time.Minute, format
	var out bytes.Buffer
	code, err := RunFiles(&out, "testdata/legacy.json", "testdata/nextgen.json", o)
	if err != nil {
		t.Fatal(err)
	}
	return code, out.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/golden/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diff -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got; go test ./diff -update rewrites it):\n%s", path, d)
	}
}

func TestReportGolden(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			code, out := goldenRun(t, format)
			if code != ExitMismatch {
				t.Errorf("exit code %d, want %d", code, ExitMismatch)
			}
			checkGolden(t, "report."+format[:4], out)
		})
	}
}

// TestReportSchema pins the documented JSON field names (README.md): adding
// fields is fine, removing or renaming one needs a new Schema.
func TestReportSchema(t *testing.T) {
	_, out := goldenRun(t, "json")
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(v any) []string {
		var ks []string
		for k := range v.(map[string]any) {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	tally := []string{"cells", "compared", "expected", "match_rate", "matched", "mismatches", "missing_left", "missing_right", "unsettled", "value_drift", "within_tolerance"}
	checks := []struct {
		name string
		v    any
		want []string
	}{
		{"report", doc, []string{"by_metric", "left", "now", "query", "right", "rules", "samples", "schema", "settle_delay", "settled_before", "summary", "warnings"}},
		{"query", doc["query"], []string{"customer", "from", "interval", "to"}},
		{"side", doc["left"], []string{"approximate", "cells", "metrics", "name", "only_metrics", "series", "served_by"}},
		{"summary", doc["summary"], append(slices.Clone(tally), "verdict", "min_compared")},
		{"by_metric", doc["by_metric"].([]any)[0], append(slices.Clone(tally), "metric")},
		{"rule", doc["rules"].([]any)[2], []string{"effect", "expired", "expires", "hits", "id", "reason"}},
		{"samples", doc["samples"], []string{"expected", "missing_left", "missing_right", "unsettled", "value_drift", "within_tolerance"}},
		{"sample", doc["samples"].(map[string]any)["expected"].([]any)[0], []string{"allowed", "bucket", "delta", "left", "metric", "right", "rule", "series"}},
	}
	for _, c := range checks {
		want := slices.Sorted(slices.Values(c.want))
		if d := cmp.Diff(want, keys(c.v)); d != "" {
			t.Errorf("%s fields (-want +got):\n%s", c.name, d)
		}
	}
	if doc["schema"] != Schema {
		t.Errorf("schema = %v", doc["schema"])
	}
}

func TestReportTextWriteError(t *testing.T) {
	rep := mustCompare(t, realistic("l", 2, 2), realistic("r", 2, 2), testOptions())
	if err := rep.Text(failWriter{}); err == nil {
		t.Error("Text ignored a write error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }
