package rollup

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"time"
)

// NoOffset marks an event applied without a Kafka offset (batch replays
// that do not track positions): it is always applied and does not move the
// cell's watermark.
const NoOffset int64 = -1

// Key identifies a cell. Tuple is the dimension values in registry order,
// encoded by Registry.Tuple; Key is comparable, so it keys maps.
type Key struct {
	Customer    string
	Granularity Granularity
	Bucket      int64 // bucket start, Unix seconds, UTC
	Partition   int32
	Tuple       string
}

// BucketStart is the bucket start as a time.
func (k Key) BucketStart() time.Time { return time.Unix(k.Bucket, 0).UTC() }

// SiteTuple is the tuple of site cells. Registry.Tuple never returns it (it
// length-prefixes every dimension's value), so it cannot collide with a
// real tuple.
const SiteTuple = ""

// Site reports whether k is a site cell's key: every event of the
// customer's bucket in the partition, every dimension rolled up. Site
// cells answer per-bucket questions without dimensions (a series of page
// views and exact visitors) without touching the tuple cells.
func (k Key) Site() bool { return k.Tuple == SiteTuple }

// SiteKey is the key of the site cell k's events also belong to.
func SiteKey(k Key) Key {
	k.Tuple = SiteTuple
	return k
}

// Tuple encodes dimension values (registry order) as one comparable string:
// each value length-prefixed, so any byte may appear in a value.
func (r *Registry) Tuple(values []string) string {
	n := 0
	for _, v := range values {
		n += len(v) + binary.MaxVarintLen32
	}
	b := make([]byte, 0, n)
	for _, v := range values {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return string(b)
}

// Values decodes a tuple into dimension values in registry order; a tuple
// written by a registry with fewer dimensions reads the rest as "".
func (r *Registry) Values(tuple string) ([]string, error) {
	vals := make([]string, len(r.dimensions))
	b := []byte(tuple)
	for i := 0; len(b) > 0; i++ {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, fmt.Errorf("decode tuple: truncated value %d", i+1)
		}
		if i >= len(vals) {
			return nil, fmt.Errorf("decode tuple: more values than the %d dimensions", len(vals))
		}
		vals[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	return vals, nil
}

// TupleHash is the hex hash of a dimension tuple that names its document:
// the first 16 bytes of SHA-256 over the (name, value) pairs with a
// non-empty value, sorted by dimension name, each length-prefixed. Empty
// values are left out, so adding a dimension does not rename the documents
// of events that have no value for it, and the order of definitions does
// not matter.
func (r *Registry) TupleHash(values []string) string {
	type pair struct{ name, value string }
	pairs := make([]pair, 0, len(values))
	for i, v := range values {
		if v != "" && i < len(r.dimensions) {
			pairs = append(pairs, pair{r.dimensions[i].Name, v})
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].name < pairs[j].name })
	h := sha256.New()
	var b []byte
	for _, p := range pairs {
		b = binary.AppendUvarint(b[:0], uint64(len(p.name)))
		b = append(b, p.name...)
		b = binary.AppendUvarint(b, uint64(len(p.value)))
		b = append(b, p.value...)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Keys returns the keys of the cells f belongs to, one per granularity.
func (r *Registry) Keys(partition int32, f *Fact, grans []Granularity) []Key {
	vals := make([]string, len(r.dimensions))
	for i := range r.dimensions {
		vals[i] = r.dimensions[i].Value(f)
	}
	tuple := r.Tuple(vals)
	keys := make([]Key, len(grans))
	for i, g := range grans {
		keys[i] = Key{Customer: f.Event.Customer, Granularity: g, Bucket: g.Bucket(f.Event.ReceivedAt), Partition: partition, Tuple: tuple}
	}
	return keys
}

// Cell is the aggregate of the events of one key: a sum per Sum metric and a
// member set per Distinct metric (both indexed like the registry's
// metrics), and Offset, the highest partition offset applied.
type Cell struct {
	Key    Key
	Offset int64
	reg    *Registry
	sums   []int64
	sets   []map[string]struct{}
}

// NewCell returns an empty cell of key; its watermark is NoOffset.
func (r *Registry) NewCell(k Key) *Cell {
	return &Cell{Key: k, Offset: NoOffset, reg: r, sums: make([]int64, len(r.metrics)), sets: make([]map[string]struct{}, len(r.metrics))}
}

// Registry is the registry the cell was made with.
func (c *Cell) Registry() *Registry { return c.reg }

// Apply adds f to the cell unless offset is at or below the watermark (the
// event is already in it); it reports whether f was applied. NoOffset
// always applies.
func (c *Cell) Apply(f *Fact, offset int64) bool {
	if offset != NoOffset && offset <= c.Offset {
		return false
	}
	amounts, members := f.contributions(c.reg)
	for i := range amounts {
		c.sums[i] += amounts[i]
		if v := members[i]; v != "" {
			if c.sets[i] == nil {
				c.sets[i] = map[string]struct{}{}
			}
			c.sets[i][v] = struct{}{}
		}
	}
	if offset != NoOffset {
		c.Offset = offset
	}
	return true
}

// Merge adds o's sums and set members to c (cells of the same tuple from
// different partitions or buckets). The watermark is left alone.
func (c *Cell) Merge(o *Cell) {
	for i := range c.reg.metrics {
		name := c.reg.metrics[i].Name
		switch c.reg.metrics[i].Kind {
		case Sum:
			c.sums[i] += o.Sum(name)
		case Distinct:
			for _, v := range o.Set(name) {
				c.AddMember(name, v)
			}
		}
	}
}

// Sum is the value of a Sum metric (0 for unknown names).
func (c *Cell) Sum(name string) int64 {
	if i := c.reg.MetricIndex(name); i >= 0 {
		return c.sums[i]
	}
	return 0
}

// SetSum sets a Sum metric, for cells read back from storage.
func (c *Cell) SetSum(name string, v int64) error {
	i := c.reg.MetricIndex(name)
	if i < 0 || c.reg.metrics[i].Kind != Sum {
		return fmt.Errorf("no sum metric %q", name)
	}
	c.sums[i] = v
	return nil
}

// Set is the sorted members of a Distinct metric.
func (c *Cell) Set(name string) []string {
	i := c.reg.MetricIndex(name)
	if i < 0 || c.sets[i] == nil {
		return nil
	}
	out := make([]string, 0, len(c.sets[i]))
	for v := range c.sets[i] {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Count is the number of members of a Distinct metric.
func (c *Cell) Count(name string) int {
	if i := c.reg.MetricIndex(name); i >= 0 {
		return len(c.sets[i])
	}
	return 0
}

// AddMember adds v to a Distinct metric, for cells read back from storage.
func (c *Cell) AddMember(name, v string) error {
	i := c.reg.MetricIndex(name)
	if i < 0 || c.reg.metrics[i].Kind != Distinct {
		return fmt.Errorf("no distinct metric %q", name)
	}
	if c.sets[i] == nil {
		c.sets[i] = map[string]struct{}{}
	}
	c.sets[i][v] = struct{}{}
	return nil
}

// Dims is the cell's dimension values in registry order.
func (c *Cell) Dims() []string {
	vals, err := c.reg.Values(c.Key.Tuple)
	if err != nil {
		return make([]string, len(c.reg.dimensions))
	}
	return vals
}

// Dim is the value of the dimension named name ("" when absent).
func (c *Cell) Dim(name string) string {
	i := c.reg.DimensionIndex(name)
	if i < 0 {
		return ""
	}
	return c.Dims()[i]
}

// BucketStart is the start of the cell's bucket.
func (c *Cell) BucketStart() time.Time { return c.Key.BucketStart() }
