package legacy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/query"
)

func TestPlanQuery(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 3, 0, 0, time.UTC)
	today := now.Truncate(Day)
	base := func(mod func(q *query.Query)) *query.Query {
		q := &query.Query{Customer: "acme.example", Metrics: []string{"pageviews"},
			From: now.Add(-24 * time.Hour).Truncate(Step5m), To: now.Truncate(Step5m), Interval: "5m"}
		if mod != nil {
			mod(q)
		}
		return q
	}
	tests := []struct {
		name    string
		q       *query.Query
		wantSrc source
		wantErr string // substring of the 422 message; "" = answerable
	}{
		{"pageviews 5m last 24h", base(nil), fromRedis5m, ""},
		{"grouped and filtered", base(func(q *query.Query) {
			q.GroupBy = []string{"url", "referrer_category"}
			q.Filters = map[string][]string{"url": {"https://acme.example/post/1"}, "referrer_category": {"search"}}
		}), fromRedis5m, ""},
		{"5m week-ago benchmark", base(func(q *query.Query) {
			q.From, q.To = now.Truncate(Step5m).Add(-8*Day), now.Truncate(Step5m).Add(-7*Day)
		}), fromRedis5m, ""},
		{"5m beyond 8 days", base(func(q *query.Query) { q.From = now.Truncate(Step5m).Add(-8*Day - Step5m) }), 0, "legacy keeps 5-minute buckets for 8 days only"},
		{"engaged seconds", base(func(q *query.Query) { q.Metrics = []string{"pageviews", "engaged_seconds"} }), 0, "legacy does not support metric engaged_seconds"},
		{"new visitors", base(func(q *query.Query) { q.Metrics = []string{"new_visitors"} }), 0, "metric new_visitors"},
		{"group by device", base(func(q *query.Query) { q.GroupBy = []string{"device"} }), 0, "legacy does not support group_by device"},
		{"filter by campaign", base(func(q *query.Query) { q.Filters = map[string][]string{"campaign": {"x"}} }), 0, "filters on campaign"},
		{"visitors at 5m", base(func(q *query.Query) { q.Metrics = []string{"visitors"} }), 0, "visitors at 5m granularity"},
		{"visitors daily", base(func(q *query.Query) {
			q.Metrics, q.Interval, q.From, q.To = []string{"pageviews", "visitors"}, "1d", today.Add(-7*Day), today.Add(Day)
		}), fromDaily, ""},
		{"visitors by referrer", base(func(q *query.Query) {
			q.Metrics, q.Interval, q.From, q.To = []string{"visitors"}, "1d", today, today.Add(Day)
			q.GroupBy = []string{"referrer_category"}
		}), 0, "visitors by referrer_category"},
		{"visitors filtered by referrer", base(func(q *query.Query) {
			q.Metrics, q.Interval, q.From, q.To = []string{"visitors"}, "total", today, today.Add(Day)
			q.Filters = map[string][]string{"referrer_category": {"search"}}
		}), 0, "visitors by referrer_category"},
		{"visitors older than 30 days", base(func(q *query.Query) {
			q.Metrics, q.Interval, q.From, q.To = []string{"visitors"}, "1d", today.Add(-31*Day), today
		}), 0, "legacy keeps daily visitors for 30 days only"},
		{"pageviews daily 2 years", base(func(q *query.Query) { q.Interval, q.From, q.To = "1d", today.Add(-730*Day), today }), fromDaily, ""},
		{"total whole days", base(func(q *query.Query) { q.Interval, q.From, q.To = "total", today.Add(-90*Day), today }), fromDaily, ""},
		{"total last hour", base(func(q *query.Query) { q.Interval, q.From = "total", now.Truncate(Step5m).Add(-time.Hour) }), fromRedis5m, ""},
		{"total unaligned", base(func(q *query.Query) { q.Interval, q.From = "total", now.Add(-time.Hour) }), 0, "not aligned to 5-minute buckets"},
		{"total part of old day", base(func(q *query.Query) { q.Interval, q.From = "total", now.Truncate(Step5m).Add(-20*Day) }), 0, "5-minute buckets for 8 days only"},
		{"visitors total part of day", base(func(q *query.Query) { q.Interval, q.Metrics = "total", []string{"visitors"} }), 0, "visitors over part of a day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.q.Validate(); err != nil {
				t.Fatalf("test query is invalid: %v", err)
			}
			p, err := planQuery(tt.q, now, DefaultOptions())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want an answerable query", err)
				}
				if p.src != tt.wantSrc {
					t.Errorf("source = %v, want %v", p.src, tt.wantSrc)
				}
				return
			}
			var uns *query.UnsupportedError
			if !errors.As(err, &uns) {
				t.Fatalf("err = %v, want *query.UnsupportedError", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
