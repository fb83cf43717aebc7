package faults

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The kinds of fault.
const (
	// DropFraction drops a fraction (Fault.Fraction) of the events.
	DropFraction Kind = "drop-fraction"
	// DropURL drops every event of one URL (Fault.URL).
	DropURL Kind = "drop-url"
	// DropHour drops every event of the range (plant it for one hour).
	DropHour Kind = "drop-hour"
	// Double counts every event twice.
	Double Kind = "double"
	// Shift moves events into the next 5-minute bucket.
	Shift Kind = "shift-5m"
	// Normalise stores the URL with a trailing slash, a different
	// normalisation of the same page.
	Normalise Kind = "url-normalisation"
	// Visitors gives every event a new visitor id: visitors far off, by
	// more than any stated error; page views are unchanged.
	Visitors Kind = "visitors-off"
	// DayMissing deletes a whole day of daily history.
	DayMissing Kind = "day-missing"
	// StaleAnswer freezes one system's answers (query path, see Stale).
	StaleAnswer Kind = "stale-answer"
	// PartitionLag stops one Kafka partition's consumer (freshness).
	PartitionLag Kind = "partition-lag"
)

// Systems.
const (
	Legacy  = "legacy"
	Nextgen = "nextgen"
)

// KindInfo describes a kind: what it does and, per system, why it cannot
// be planted by this package ("" when it can).
type KindInfo struct {
	Kind   Kind
	Does   string
	Cannot map[string]string
}

// Kinds lists every kind in table order.
var Kinds = []KindInfo{
	{DropFraction, "a fraction of the events of the range is lost", nil},
	{DropURL, "every event of one URL in the range is lost", nil},
	{DropHour, "every event of one hour is lost", nil},
	{Double, "every event of the range is counted twice", nil},
	{Shift, "the events of the range land in the next 5-minute bucket", nil},
	{Normalise, "URLs of the range are stored with a trailing slash", nil},
	{Visitors, "every event of the range gets a new visitor id (visitors off, page views not)", nil},
	{DayMissing, "the daily documents of one UTC day are deleted", nil},
	{StaleAnswer, "the system's query API keeps answering from a cache that stopped updating (query-path injector)", nil},
	{PartitionLag, "one partition's consumer stops (freshness)", map[string]string{
		Legacy:  "not planted: it needs a consumer-group member that holds the customer's partition without consuming (the legacy ingester has no per-partition pause); not built yet. Its observable effect for the customer is the stale-answer row",
		Nextgen: "not planted: it needs a consumer-group member that holds the customer's partition without consuming (the stream engine has no per-partition pause); not built yet. Its observable effect for the customer is the stale-answer row",
	}},
}

// Info returns the description of k.
func Info(k Kind) (KindInfo, bool) {
	i := slices.IndexFunc(Kinds, func(ki KindInfo) bool { return ki.Kind == k })
	if i < 0 {
		return KindInfo{}, false
	}
	return Kinds[i], true
}

// Fault is one fault: a kind, the system at fault, one customer and a
// range [From, To) of receive times (5-minute aligned; a day for
// DayMissing: the UTC day holding From).
type Fault struct {
	Kind     Kind      `json:"kind"`
	System   string    `json:"system"`
	Customer string    `json:"customer"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// URL is the page of DropURL (normalised).
	URL string `json:"url,omitempty"`
	// Fraction is DropFraction's share of events dropped, in (0, 1].
	Fraction float64 `json:"fraction,omitempty"`
}

// ErrNotPlantable is returned for a kind that cannot be planted in a
// system (see Kinds).
var ErrNotPlantable = errors.New("fault not plantable")

// Validate says what is wrong with f, if anything.
func (f Fault) Validate() error {
	info, ok := Info(f.Kind)
	if !ok {
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.System != Legacy && f.System != Nextgen {
		return fmt.Errorf("system %q: want legacy or nextgen", f.System)
	}
	if why := info.Cannot[f.System]; why != "" {
		return fmt.Errorf("%s in %s: %w: %s", f.Kind, f.System, ErrNotPlantable, why)
	}
	if f.Customer == "" {
		return errors.New("no customer")
	}
	if f.Kind == StaleAnswer {
		return nil
	}
	if f.From.IsZero() || !f.From.Before(f.To) {
		return fmt.Errorf("range [%s, %s) is empty", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	if !f.From.Equal(f.From.Truncate(5*time.Minute)) || !f.To.Equal(f.To.Truncate(5*time.Minute)) {
		return errors.New("range not aligned to 5-minute buckets")
	}
	switch f.Kind {
	case DropURL:
		if f.URL == "" {
			return errors.New("drop-url needs a url")
		}
	case DropFraction:
		if f.Fraction <= 0 || f.Fraction > 1 {
			return fmt.Errorf("fraction %g: want (0, 1]", f.Fraction)
		}
	case DropHour:
		if f.To.Sub(f.From) > time.Hour {
			return errors.New("drop-hour covers at most one hour")
		}
	}
	return nil
}

// Day is the UTC day a DayMissing fault deletes.
func (f Fault) Day() time.Time { return f.From.UTC().Truncate(24 * time.Hour) }

// String is a one-line description.
func (f Fault) String() string {
	s := fmt.Sprintf("%s in %s for %s over [%s, %s)", f.Kind, f.System, f.Customer, f.From.UTC().Format(time.RFC3339), f.To.UTC().Format(time.RFC3339))
	if f.URL != "" {
		s += " url " + f.URL
	}
	if f.Fraction > 0 {
		s += fmt.Sprintf(" fraction %g", f.Fraction)
	}
	return s
}
