package faults

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/pixel"
)

func TestValidate(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 4, 20, 0, 0, time.UTC)
	ok := Fault{Kind: Double, System: Legacy, Customer: "acme.example", From: t0, To: t0.Add(5 * time.Minute)}
	for _, tt := range []struct {
		name   string
		change func(*Fault)
		want   string // "" valid; else a part of the error
	}{
		{"valid", func(*Fault) {}, ""},
		{"unknown kind", func(f *Fault) { f.Kind = "melt" }, "unknown fault kind"},
		{"unknown system", func(f *Fault) { f.System = "both" }, "want legacy or nextgen"},
		{"no customer", func(f *Fault) { f.Customer = "" }, "no customer"},
		{"empty range", func(f *Fault) { f.To = f.From }, "is empty"},
		{"unaligned", func(f *Fault) { f.From = t0.Add(time.Minute) }, "not aligned"},
		{"drop-url without url", func(f *Fault) { f.Kind = DropURL }, "needs a url"},
		{"fraction 0", func(f *Fault) { f.Kind = DropFraction }, "fraction 0"},
		{"fraction above 1", func(f *Fault) { f.Kind, f.Fraction = DropFraction, 1.5 }, "fraction 1.5"},
		{"drop-hour too long", func(f *Fault) { f.Kind, f.To = DropHour, t0.Add(2*time.Hour) }, "at most one hour"},
		{"partition lag", func(f *Fault) { f.Kind = PartitionLag }, "not plantable"},
		{"stale needs no range", func(f *Fault) { f.Kind, f.From, f.To = StaleAnswer, time.Time{}, time.Time{} }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := ok
			tt.change(&f)
			err := f.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	if err := (Fault{Kind: PartitionLag, System: Nextgen, Customer: "c"}).Validate(); !errors.Is(err, ErrNotPlantable) {
		t.Errorf("partition lag: %v, want ErrNotPlantable", err)
	}
}

func TestTransform(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 4, 20, 0, 0, time.UTC)
	var events []Event
	for i := range 100 {
		c := "acme.example"
		if i%10 == 9 {
			c = "globex.example"
		}
		at := t0.Add(time.Duration(i) * 6 * time.Second) // 04:20:00 … 04:29:54
		events = append(events, Event{Partition: 1, Event: pixel.Event{
			EID: fmt.Sprintf("e%d", i), Customer: c, Type: pixel.TypePageView, ReceivedAt: at,
			URL: fmt.Sprintf("https://acme.example/post/%d", i%3), DUID: fmt.Sprintf("v%d", i%7),
		}})
	}
	in := func(e Event) bool { return e.Customer == "acme.example" && e.ReceivedAt.Before(t0.Add(5*time.Minute)) }
	inRange := 0
	for _, e := range events {
		if in(e) {
			inRange++
		}
	}
	base := Fault{Customer: "acme.example", From: t0, To: t0.Add(5 * time.Minute)}
	for _, tt := range []struct {
		kind  Kind
		setup func(*Fault)
		check func(t *testing.T, out []Event)
	}{
		{DropHour, nil, func(t *testing.T, out []Event) {
			if len(out) != len(events)-inRange {
				t.Errorf("%d events, want %d", len(out), len(events)-inRange)
			}
		}},
		{DropURL, func(f *Fault) { f.URL = "https://acme.example/post/0" }, func(t *testing.T, out []Event) {
			for _, e := range out {
				if in(e) && e.URL == "https://acme.example/post/0" {
					t.Errorf("%s kept", e.EID)
				}
			}
			if len(out) >= len(events) {
				t.Error("nothing dropped")
			}
		}},
		{DropFraction, func(f *Fault) { f.Fraction = 0.5 }, func(t *testing.T, out []Event) {
			if d := len(events) - len(out); d < inRange/4 || d > inRange*3/4 {
				t.Errorf("%d of %d dropped, want about half", d, inRange)
			}
		}},
		{Double, nil, func(t *testing.T, out []Event) {
			if len(out) != len(events)+inRange {
				t.Errorf("%d events, want %d", len(out), len(events)+inRange)
			}
		}},
		{Shift, nil, func(t *testing.T, out []Event) {
			for i, e := range out {
				if in(events[i]) && !e.ReceivedAt.Equal(events[i].ReceivedAt.Add(5*time.Minute)) {
					t.Errorf("%s at %s not shifted", e.EID, e.ReceivedAt)
				}
			}
		}},
		{Normalise, nil, func(t *testing.T, out []Event) {
			for i, e := range out {
				if in(events[i]) != (e.URL == events[i].URL+"/") {
					t.Errorf("%s: %s (from %s)", e.EID, e.URL, events[i].URL)
				}
			}
		}},
		{Visitors, nil, func(t *testing.T, out []Event) {
			seen := map[string]bool{}
			for i, e := range out {
				if in(events[i]) {
					if seen[e.Visitor()] || e.Visitor() == events[i].Visitor() {
						t.Errorf("%s: visitor %s not new", e.EID, e.Visitor())
					}
					seen[e.Visitor()] = true
				} else if e.Visitor() != events[i].Visitor() {
					t.Errorf("%s outside the range changed", e.EID)
				}
			}
		}},
		{DayMissing, nil, func(t *testing.T, out []Event) {
			if len(out) != len(events) {
				t.Errorf("day-missing changed the stream")
			}
		}},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			f := base
			f.Kind = tt.kind
			if tt.setup != nil {
				tt.setup(&f)
			}
			tt.check(t, Transform(f, events))
		})
	}
}
