package queryengine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/query"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPlanQuery(t *testing.T) {
	now := ts("2026-11-25T17:32:10Z")
	tests := []struct {
		name        string
		interval    string
		from, to    string
		histogram   string
		parts       []part
		unsupported string // substring of the 422 message; "" = answered
	}{
		{"5m last 24h", "5m", "2026-11-24T17:30:00Z", "2026-11-25T17:30:00Z", "5m",
			[]part{{"5m", ts("2026-11-24T17:30:00Z"), ts("2026-11-25T17:30:00Z")}}, ""},
		{"5m week-ago benchmark", "5m", "2026-11-17T17:30:00Z", "2026-11-18T17:30:00Z", "5m",
			[]part{{"5m", ts("2026-11-17T17:30:00Z"), ts("2026-11-18T17:30:00Z")}}, ""},
		{"5m first kept day", "5m", "2026-11-17T00:00:00Z", "2026-11-17T01:00:00Z", "5m",
			[]part{{"5m", ts("2026-11-17T00:00:00Z"), ts("2026-11-17T01:00:00Z")}}, ""},
		{"5m older than retention", "5m", "2026-11-16T23:55:00Z", "2026-11-17T01:00:00Z", "", nil,
			"5-minute rollups are kept for 8 days"},
		{"1d two years", "1d", "2024-11-25T00:00:00Z", "2026-11-26T00:00:00Z", "1d",
			[]part{{"1d", ts("2024-11-25T00:00:00Z"), ts("2026-11-26T00:00:00Z")}}, ""},
		{"1d oldest kept yearly index", "1d", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "1d",
			[]part{{"1d", ts("2024-01-01T00:00:00Z"), ts("2024-01-02T00:00:00Z")}}, ""},
		{"1d in a deleted yearly index", "1d", "2023-12-31T00:00:00Z", "2026-11-26T00:00:00Z", "", nil,
			"1-day rollups are kept for 730 days"},
		{"total whole days", "total", "2026-11-01T00:00:00Z", "2026-11-25T00:00:00Z", "",
			[]part{{"1d", ts("2026-11-01T00:00:00Z"), ts("2026-11-25T00:00:00Z")}}, ""},
		{"total within a day", "total", "2026-11-25T10:00:00Z", "2026-11-25T12:05:00Z", "",
			[]part{{"5m", ts("2026-11-25T10:00:00Z"), ts("2026-11-25T12:05:00Z")}}, ""},
		{"total 30 days to now", "total", "2026-10-26T00:00:00Z", "2026-11-25T17:30:00Z", "",
			[]part{
				{"1d", ts("2026-10-26T00:00:00Z"), ts("2026-11-25T00:00:00Z")},
				{"5m", ts("2026-11-25T00:00:00Z"), ts("2026-11-25T17:30:00Z")},
			}, ""},
		{"total partial days at both ends", "total", "2026-11-20T22:00:00Z", "2026-11-23T01:00:00Z", "",
			[]part{
				{"5m", ts("2026-11-20T22:00:00Z"), ts("2026-11-21T00:00:00Z")},
				{"1d", ts("2026-11-21T00:00:00Z"), ts("2026-11-23T00:00:00Z")},
				{"5m", ts("2026-11-23T00:00:00Z"), ts("2026-11-23T01:00:00Z")},
			}, ""},
		{"total old partial day", "total", "2026-10-01T12:00:00Z", "2026-11-25T00:00:00Z", "", nil,
			"use from and to at 00:00 UTC"},
		{"total off 5-minute boundaries", "total", "2026-11-25T10:01:00Z", "2026-11-25T11:00:00Z", "", nil,
			"must be on 5-minute boundaries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := query.Query{Customer: "acme.example", Metrics: []string{"pageviews"}, From: ts(tt.from), To: ts(tt.to), Interval: tt.interval}
			if err := q.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			p, err := planQuery(&q, now, esindex.Names{Prefix: "p"})
			if tt.unsupported != "" {
				var ue *query.UnsupportedError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.unsupported) {
					t.Fatalf("err = %v, want UnsupportedError containing %q", err, tt.unsupported)
				}
				return
			}
			if err != nil {
				t.Fatalf("planQuery: %v", err)
			}
			if p.histogram != tt.histogram {
				t.Errorf("histogram = %q, want %q", p.histogram, tt.histogram)
			}
			if d := cmp.Diff(tt.parts, p.parts, cmp.AllowUnexported(part{})); d != "" {
				t.Errorf("parts (-want +got):\n%s", d)
			}
		})
	}
}

func TestPlanIndices(t *testing.T) {
	horizon := ts("2026-11-26T17:00:00Z")
	tests := []struct {
		name string
		plan plan
		want []string
	}{
		{"5m over midnight", plan{parts: []part{{"5m", ts("2026-11-24T17:30:00Z"), ts("2026-11-25T17:30:00Z")}}},
			[]string{"p-rollup-5m-2026.11.24", "p-rollup-5m-2026.11.25"}},
		{"5m ending at midnight", plan{parts: []part{{"5m", ts("2026-11-24T17:30:00Z"), ts("2026-11-25T00:00:00Z")}}},
			[]string{"p-rollup-5m-2026.11.24"}},
		{"1d over new year", plan{parts: []part{{"1d", ts("2024-11-25T00:00:00Z"), ts("2026-01-01T00:00:00Z")}}},
			[]string{"p-rollup-1d-2024", "p-rollup-1d-2025"}},
		{"mixed", plan{parts: []part{
			{"1d", ts("2026-10-26T00:00:00Z"), ts("2026-11-25T00:00:00Z")},
			{"5m", ts("2026-11-25T00:00:00Z"), ts("2026-11-25T17:30:00Z")},
		}}, []string{"p-rollup-1d-2026", "p-rollup-5m-2026.11.25"}},
		{"future clipped", plan{parts: []part{{"5m", ts("2026-11-25T00:00:00Z"), ts("2030-01-01T00:00:00Z")}}},
			[]string{"p-rollup-5m-2026.11.25", "p-rollup-5m-2026.11.26"}},
		{"all in the future", plan{parts: []part{{"1d", ts("2027-01-01T00:00:00Z"), ts("2028-01-01T00:00:00Z")}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.plan.indices(esindex.Names{Prefix: "p"}, horizon)); d != "" {
				t.Errorf("indices (-want +got):\n%s", d)
			}
		})
	}
}

func TestTimeSlices(t *testing.T) {
	now := ts("2026-11-25T17:32:10Z")
	names := esindex.Names{Prefix: "p"}
	p5 := func(from, to string) plan {
		return plan{histogram: "5m", parts: []part{{"5m", ts(from), ts(to)}}}
	}
	sl := func(day, sFrom, sTo, kFrom, kTo string) slice {
		return slice{"p-rollup-5m-" + day, part{"5m", ts(sFrom), ts(sTo)}, part{"5m", ts(kFrom), ts(kTo)}}
	}
	tests := []struct {
		name  string
		req   request
		widen bool
		want  []slice
	}{
		{"last 24h: past windows searched whole", request{plan: p5("2026-11-24T17:30:00Z", "2026-11-25T17:30:00Z"), withTime: true}, true, []slice{
			sl("2026.11.24", "2026-11-24T12:00:00Z", "2026-11-24T18:00:00Z", "2026-11-24T17:30:00Z", "2026-11-24T18:00:00Z"),
			sl("2026.11.24", "2026-11-24T18:00:00Z", "2026-11-25T00:00:00Z", "2026-11-24T18:00:00Z", "2026-11-25T00:00:00Z"),
			sl("2026.11.25", "2026-11-25T00:00:00Z", "2026-11-25T06:00:00Z", "2026-11-25T00:00:00Z", "2026-11-25T06:00:00Z"),
			sl("2026.11.25", "2026-11-25T06:00:00Z", "2026-11-25T12:00:00Z", "2026-11-25T06:00:00Z", "2026-11-25T12:00:00Z"),
			sl("2026.11.25", "2026-11-25T12:00:00Z", "2026-11-25T17:30:00Z", "2026-11-25T12:00:00Z", "2026-11-25T17:30:00Z"),
		}},
		{"no cache: no widening", request{plan: p5("2026-11-24T17:30:00Z", "2026-11-25T01:00:00Z"), withTime: true}, false, []slice{
			sl("2026.11.24", "2026-11-24T17:30:00Z", "2026-11-24T18:00:00Z", "2026-11-24T17:30:00Z", "2026-11-24T18:00:00Z"),
			sl("2026.11.24", "2026-11-24T18:00:00Z", "2026-11-25T00:00:00Z", "2026-11-24T18:00:00Z", "2026-11-25T00:00:00Z"),
			sl("2026.11.25", "2026-11-25T00:00:00Z", "2026-11-25T01:00:00Z", "2026-11-25T00:00:00Z", "2026-11-25T01:00:00Z"),
		}},
		{"future windows skipped", request{plan: p5("2026-11-25T12:00:00Z", "2026-11-27T00:00:00Z"), withTime: true}, true, []slice{
			sl("2026.11.25", "2026-11-25T12:00:00Z", "2026-11-25T18:00:00Z", "2026-11-25T12:00:00Z", "2026-11-25T18:00:00Z"),
		}},
		{"total is not sliced", request{plan: p5("2026-11-24T10:00:00Z", "2026-11-25T10:00:00Z")}, true, nil},
		{"daily series is not sliced", request{plan: plan{histogram: "1d", parts: []part{{"1d", ts("2026-11-01T00:00:00Z"), ts("2026-11-25T00:00:00Z")}}}, withTime: true}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.req.timeSlices(names, now, tt.widen), cmp.AllowUnexported(slice{}, part{})); d != "" {
				t.Errorf("timeSlices (-want +got):\n%s", d)
			}
		})
	}
}
