package rollup_test

import (
	"slices"
	"testing"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

func TestTupleRoundTrip(t *testing.T) {
	reg := rollup.DefaultRegistry
	tests := [][]string{
		{"https://a/x", "", "direct", "", "desktop"},
		{"", "", "", "", ""},
		{"with\x00nul", "é\x1f", "x", "long" + string(make([]byte, 300)), "y"},
	}
	for _, vals := range tests {
		got, err := reg.Values(reg.Tuple(vals))
		if err != nil || !slices.Equal(got, vals) {
			t.Errorf("round trip %q = %q, %v", vals, got, err)
		}
	}
	if _, err := reg.Values("\x05ab"); err == nil {
		t.Error("truncated tuple decoded")
	}
}

// A dimension added later must not rename the documents of events that
// have no value for it, and definition order must not matter.
func TestTupleHashStableWhenDimensionAdded(t *testing.T) {
	base := rollup.DefaultRegistry
	dims := rollup.DefaultDimensions()
	slices.Reverse(dims)
	lang := func(f *rollup.Fact) string { return f.Event.Raw["lang"] }
	extended := rollup.MustRegistry(rollup.DefaultMetrics(), append(dims, rollup.Dimension{Name: "language", Value: lang}))

	vals := []string{"https://a/x", "", "direct", "", "desktop"}
	rev := slices.Clone(vals)
	slices.Reverse(rev)
	h := base.TupleHash(vals)
	if got := extended.TupleHash(append(rev, "")); got != h {
		t.Errorf("hash with an empty new dimension = %s, want %s", got, h)
	}
	if got := extended.TupleHash(append(rev, "de")); got == h {
		t.Error("hash ignores the new dimension's value")
	}
	if len(h) != 32 {
		t.Errorf("hash %q is not 32 hex digits", h)
	}
	// A tuple written by the shorter registry reads the new dimension as "".
	got, err := extended.Values(base.Tuple(vals))
	if err != nil || len(got) != 6 || got[5] != "" {
		t.Errorf("old tuple read by the extended registry: %q, %v", got, err)
	}
}

// A metric added to the registry is carried by every cell and read as 0 by
// cells aggregated before (the storage half is in nextgen/esindex).
func TestMetricAddedInOnePlace(t *testing.T) {
	clicks := rollup.Metric{Name: "outbound_clicks", Kind: rollup.Sum,
		Amount: func(f *rollup.Fact) int64 {
			if f.Event.Type == pixel.TypeStructured && f.Event.SECategory == "link" && f.Event.SEAction == "click" {
				return 1
			}
			return 0
		}}
	reg := rollup.MustRegistry(append(rollup.DefaultMetrics(), clicks), rollup.DefaultDimensions())
	r := rollup.New(customers(t), rollup.Options{Registry: reg, Granularities: []rollup.Granularity{rollup.OneDay}})
	click := ev("c", pixel.TypeStructured, "a", 1, t0)
	click.SECategory, click.SEAction = "link", "click"
	pv := ev("p", pixel.TypePageView, "a", 1, t0)
	for i, e := range []pixel.Event{click, pv} {
		if err := r.Add(0, int64(i), &e); err != nil {
			t.Fatal(err)
		}
	}
	tot := r.Totals(rollup.OneDay, nil)
	if tot.Sum("outbound_clicks") != 1 || tot.Sum("pageviews") != 1 {
		t.Fatalf("outbound_clicks %d pageviews %d", tot.Sum("outbound_clicks"), tot.Sum("pageviews"))
	}
	old := rollup.DefaultRegistry.NewCell(rollup.Key{})
	if old.Sum("outbound_clicks") != 0 {
		t.Fatal("unknown metric is not 0")
	}
}
