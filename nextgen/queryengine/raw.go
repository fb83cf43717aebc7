package queryengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brooksdata/brooks/nextgen/rawstore"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// RawReader reads the raw events of one customer and UTC hour (the raw
// store's partition) with where Kafka had them: *rawstore.Store.
type RawReader interface {
	Each(ctx context.Context, customer string, hour time.Time, fn func(rawstore.Record) error) error
}

// RawEvent is a stored event and its Kafka partition and offset.
type RawEvent struct {
	pixel.Event
	Partition int32 `json:"kafka_partition"`
	Offset    int64 `json:"kafka_offset"`
}

// ErrNoRawStore is returned by Raw when the engine has no raw reader.
var ErrNoRawStore = errors.New("raw drill-down is not configured")

// RawRequest asks for the raw events of a customer's hour.
type RawRequest struct {
	Customer string
	Hour     time.Time
	// Type keeps only events of this type (pv, pp, se, ...) when set.
	Type string
	// URL keeps only events whose normalised URL is this when set.
	URL string
	// Limit caps the events returned (0: all).
	Limit int
}

// RawAnswer is a drill-down: the events of one hour, oldest first (by
// receive time, then eid).
type RawAnswer struct {
	ServedBy  string     `json:"served_by"`
	Customer  string     `json:"customer"`
	Hour      time.Time  `json:"hour"`
	Total     int        `json:"total"`     // events matching, before Limit
	Truncated bool       `json:"truncated"` // Limit cut the list
	Events    []RawEvent `json:"events"`
}

// Raw answers a drill-down from the raw store. Errors are
// *query.InvalidError for a bad request, ErrNoRawStore, or *BackendError.
func (e *Engine) Raw(ctx context.Context, r RawRequest) (*RawAnswer, error) {
	if strings.TrimSpace(r.Customer) == "" {
		return nil, &query.InvalidError{Field: "customer", Message: "is required"}
	}
	if e.opts.Customers != nil {
		if err := query.CheckCustomer(e.opts.Customers, r.Customer, "nextgen"); err != nil {
			return nil, err
		}
	}
	if r.Hour.IsZero() {
		return nil, &query.InvalidError{Field: "hour", Message: "is required (RFC 3339, UTC, on the hour)"}
	}
	r.Hour = r.Hour.UTC()
	if !r.Hour.Truncate(time.Hour).Equal(r.Hour) {
		return nil, &query.InvalidError{Field: "hour", Message: fmt.Sprintf("%s is not on the hour (raw events are stored per UTC hour)", r.Hour.Format(time.RFC3339))}
	}
	if r.Limit < 0 {
		return nil, &query.InvalidError{Field: "limit", Message: "must be 0 (all) or more"}
	}
	if e.opts.Raw == nil {
		return nil, ErrNoRawStore
	}
	var kept []RawEvent
	err := e.opts.Raw.Each(ctx, r.Customer, r.Hour, func(rec rawstore.Record) error {
		ev := rec.Event
		if (r.Type == "" || ev.Type == r.Type) && (r.URL == "" || pixel.NormalizeURL(ev.URL) == r.URL) {
			kept = append(kept, RawEvent{Event: ev, Partition: rec.Partition, Offset: rec.Offset})
		}
		return nil
	})
	if err != nil {
		return nil, &BackendError{Store: "cassandra", Err: err}
	}
	if kept == nil {
		kept = []RawEvent{}
	}
	slices.SortStableFunc(kept, func(a, b RawEvent) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.EID, b.EID)
	})
	a := &RawAnswer{ServedBy: ServedBy, Customer: r.Customer, Hour: r.Hour, Total: len(kept), Events: kept}
	if r.Limit > 0 && len(kept) > r.Limit {
		a.Events, a.Truncated = kept[:r.Limit], true
	}
	return a, nil
}
