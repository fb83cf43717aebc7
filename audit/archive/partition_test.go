package archive

import (
	"testing"
	"time"
)

func TestCommitPoint(t *testing.T) {
	seg := func(first int64) *segment { return &segment{first: first} }
	tests := []struct {
		name   string
		open   []int64
		next   int64
		want   int64
		wantOK bool
	}{
		{"nothing consumed yet", nil, -1, 0, false},
		{"no open part: after the last record", nil, 501, 501, true},
		{"the oldest open part holds the commit back", []int64{120, 90, 300}, 501, 90, true},
		{"an open part at the last record", []int64{500}, 501, 500, true},
	}
	for _, tc := range tests {
		open := map[segKey]*segment{}
		for i, f := range tc.open {
			open[segKey{customer: string(rune('a' + i))}] = seg(f)
		}
		got, ok := commitPoint(open, tc.next)
		if ok != tc.wantOK || (ok && got != tc.want) {
			t.Errorf("%s: commitPoint = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestCloseReason(t *testing.T) {
	hour := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	const roll, grace = time.Minute, 30 * time.Second
	tests := []struct {
		name   string
		opened time.Time
		now    time.Time
		want   string
	}{
		{"young part, hour running", hour.Add(20 * time.Minute), hour.Add(20*time.Minute + 59*time.Second), ""},
		{"roll interval passed", hour.Add(20 * time.Minute), hour.Add(21 * time.Minute), ReasonRoll},
		{"hour ended, within grace", hour.Add(59*time.Minute + 50*time.Second), hour.Add(time.Hour + 20*time.Second), ""},
		{"hour ended, grace passed", hour.Add(59*time.Minute + 50*time.Second), hour.Add(time.Hour + grace), ReasonHour},
		{"late record of an old hour", hour.Add(5 * time.Hour), hour.Add(5 * time.Hour), ReasonHour},
	}
	for _, tc := range tests {
		s := &segment{key: segKey{customer: "c", hour: hour}, opened: tc.opened}
		if got := closeReason(s, tc.now, roll, grace); got != tc.want {
			t.Errorf("%s: closeReason = %q, want %q", tc.name, got, tc.want)
		}
	}
	s := &segment{key: segKey{customer: "c", hour: hour}, opened: hour}
	if got := closeReason(s, hour.Add(30*time.Minute), 0, grace); got != "" {
		t.Errorf("roll 0 (off) closed a part: %q", got)
	}
}

func TestTick(t *testing.T) {
	for roll, want := range map[time.Duration]time.Duration{
		time.Minute: time.Second, time.Second: 250 * time.Millisecond, 10 * time.Millisecond: 20 * time.Millisecond, 0: time.Second,
	} {
		o := Options{RollInterval: roll}
		if got := o.tick(); got != want {
			t.Errorf("tick(roll %s) = %s, want %s", roll, got, want)
		}
	}
}
