package rollup

import (
	"fmt"
	"time"
)

// Granularity is the width of a rollup bucket. Buckets are aligned to UTC:
// 5-minute buckets on the clock, 1-day buckets at 00:00 UTC.
type Granularity string

// The granularities nextgen stores.
const (
	FiveMinutes Granularity = "5m"
	OneDay      Granularity = "1d"
)

// Granularities lists every granularity, finest first.
var Granularities = []Granularity{FiveMinutes, OneDay}

// Step is the bucket width.
func (g Granularity) Step() time.Duration {
	switch g {
	case FiveMinutes:
		return 5 * time.Minute
	case OneDay:
		return 24 * time.Hour
	}
	return 0
}

// Validate reports an unknown granularity.
func (g Granularity) Validate() error {
	if g.Step() == 0 {
		return fmt.Errorf("unknown granularity %q (5m or 1d)", string(g))
	}
	return nil
}

// Bucket is the start of the UTC bucket holding t, in Unix seconds.
func (g Granularity) Bucket(t time.Time) int64 {
	step := int64(g.Step() / time.Second)
	s := t.Unix()
	b := s - s%step
	if s < 0 && s%step != 0 {
		b -= step
	}
	return b
}

// BucketStart is the start of the UTC bucket holding t.
func (g Granularity) BucketStart(t time.Time) time.Time {
	return time.Unix(g.Bucket(t), 0).UTC()
}
