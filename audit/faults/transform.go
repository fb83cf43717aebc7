package faults

import (
	"net/url"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/brooksdata/brooks/pixel"
)

// Event is one archived event and the Kafka partition it was read from.
type Event struct {
	Partition int32
	pixel.Event
}

// Transform returns the stream the faulty system sees: events of f's
// customer received in [f.From, f.To) changed as f.Kind says, every
// other event as it is. Dropped fractions are chosen by a hash of the
// event id, so the same events drop every time. Kinds that do not change
// events (DayMissing, StaleAnswer, PartitionLag) return the events as
// they are.
func Transform(f Fault, events []Event) []Event {
	out := make([]Event, 0, len(events))
	for _, e := range events {
		if e.Customer != f.Customer || e.ReceivedAt.Before(f.From) || !e.ReceivedAt.Before(f.To) {
			out = append(out, e)
			continue
		}
		switch f.Kind {
		case DropFraction:
			if float64(xxhash.Sum64String(e.EID)%10000) < f.Fraction*10000 {
				continue
			}
		case DropURL:
			if pixel.NormalizeURL(e.URL) == f.URL {
				continue
			}
		case DropHour:
			continue
		case Double:
			d := e
			d.EID = e.EID + "-double"
			out = append(out, e, d)
			continue
		case Shift:
			e.ReceivedAt = e.ReceivedAt.Add(5 * time.Minute)
		case Normalise:
			e.URL = trailingSlash(e.URL)
		case Visitors:
			e.DUID, e.NUID = "faults-"+e.EID, ""
		}
		out = append(out, e)
	}
	return out
}

// trailingSlash appends "/" to the path of u unless it has one.
func trailingSlash(u string) string {
	p, err := url.Parse(u)
	if err != nil || strings.HasSuffix(p.Path, "/") {
		return u
	}
	p.Path += "/"
	return p.String()
}
