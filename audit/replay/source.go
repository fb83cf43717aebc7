package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/pixel"
)

// Refusal is an archive part the replay would not use: it does not match
// its manifest (size, sha256, record count, event-id hash) or holds
// records of another customer or hour. The hour's buckets are not judged.
type Refusal struct {
	Key    string    `json:"key"`
	Hour   time.Time `json:"hour"`
	Reason string    `json:"reason"`
}

// Part is one accepted archive part with its decoded events, in Kafka
// order.
type Part struct {
	Manifest *archive.Manifest
	Events   []pixel.Event
	// Values are the events' records byte for byte (ReadOptions.KeepValues).
	Values [][]byte
}

// ReadOptions tune ReadArchive.
type ReadOptions struct {
	// Progress is told the events of every part read (none when nil).
	Progress Progress
	// KeepValues keeps every event's record in Part.Values.
	KeepValues bool
	// KeepRaw decodes every event's raw tracker parameters (Event.Raw),
	// for registries whose metrics or dimensions read them.
	KeepRaw bool
}

// ReadArchive lists the parts of customer's hours in [from, to), verifies
// each against its manifest and calls fn with every accepted part, in hour,
// partition and offset order. A part that does not verify is not passed to
// fn: it is returned as a Refusal naming it, and reading goes on with the
// next part. orphans lists part files without a manifest (not part of the
// archive). The error is for the archive as a whole (a listing failed, ctx
// ended, fn failed).
func ReadArchive(ctx context.Context, sink archive.Sink, customer string, from, to time.Time, o ReadOptions, fn func(*Part) error) (refused []Refusal, orphans []string, err error) {
	mans, orphans, err := archive.Manifests(ctx, sink, customer, from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("list archive of %s: %w", customer, err)
	}
	if o.Progress != nil {
		var total int64
		for _, m := range mans {
			total += m.Events
		}
		o.Progress.Start(total)
	}
	for _, m := range mans {
		if err := ctx.Err(); err != nil {
			return refused, orphans, err
		}
		p, reason := readPart(ctx, sink, m, o)
		if o.Progress != nil {
			o.Progress.Add(m.Events)
		}
		if reason != "" {
			if ctx.Err() != nil {
				return refused, orphans, ctx.Err()
			}
			refused = append(refused, Refusal{Key: m.Key, Hour: m.Hour, Reason: reason})
			continue
		}
		if err := fn(p); err != nil {
			return refused, orphans, err
		}
	}
	return refused, orphans, nil
}

// readPart decodes and verifies one part; reason says why it is refused
// ("" when it verifies). Events are handed out only after the whole file
// matched, so a damaged part contributes nothing.
func readPart(ctx context.Context, sink archive.Sink, m *archive.Manifest, o ReadOptions) (*Part, string) {
	p := &Part{Manifest: m, Events: make([]pixel.Event, 0, m.Events)}
	var n, invalid int64
	var t ledger.Tally
	wrong := ""
	err := archive.ReadPart(ctx, sink, m, func(line []byte) error {
		n++
		e, err := decodeEvent(line, o.KeepRaw)
		if err != nil || !archive.ValidCustomer(e.Customer) {
			invalid++
			return nil
		}
		if wrong == "" && (e.Customer != m.Customer || !e.Hour().Equal(m.Hour)) {
			wrong = fmt.Sprintf("record %d (event %s) is of %s at %s, not of the part's customer and hour", n, e.EID, e.Customer, e.ReceivedAt.UTC().Format(time.RFC3339))
		}
		t.Add(e.EID)
		p.Events = append(p.Events, e)
		if o.KeepValues {
			p.Values = append(p.Values, append([]byte(nil), line...))
		}
		return nil
	})
	switch {
	case errors.Is(err, archive.ErrNotExist):
		return nil, "part file missing"
	case err != nil:
		return nil, err.Error()
	case n != m.Events || invalid != m.Invalid:
		return nil, fmt.Sprintf("%d records (%d invalid), manifest says %d (%d invalid)", n, invalid, m.Events, m.Invalid)
	case archive.HashHex(t.Hash) != m.EIDHash:
		return nil, fmt.Sprintf("event-id hash %s, manifest says %s", archive.HashHex(t.Hash), m.EIDHash)
	case wrong != "":
		return nil, wrong
	}
	return p, ""
}
