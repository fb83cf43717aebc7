package rollup

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/brooksdata/brooks/pixel"
)

// Options configures a Rollup.
type Options struct {
	// Registry defines metrics and dimensions (DefaultRegistry when nil).
	Registry *Registry
	// Granularities to aggregate at (both 5m and 1d when empty).
	Granularities []Granularity
	// KeepDuplicates turns eid deduplication off: by default an event whose
	// eid was already added is skipped, the exactly-once rule.
	KeepDuplicates bool
	// Sites also aggregates each event into its site cells (Key.Site), as
	// the stream engine does.
	Sites bool
}

// Rollup aggregates a batch of events in memory: the audit's replay and
// tests use it; the stream engine shares its Registry and Cell.
type Rollup struct {
	reg       *Registry
	customers *pixel.Customers
	grans     []Granularity
	dedupe    bool
	sites     bool
	seen      map[string]struct{}
	cells     map[Key]*Cell
	stats     Stats
}

// Stats counts what Add did.
type Stats struct {
	Added      int // events applied to at least one cell
	Duplicates int // events skipped because their eid was already added
	Replayed   int // events skipped because a cell's watermark covered them
	Ignored    int // events that contribute to no metric
}

// New returns an empty Rollup for customers.
func New(customers *pixel.Customers, o Options) *Rollup {
	if o.Registry == nil {
		o.Registry = DefaultRegistry
	}
	if len(o.Granularities) == 0 {
		o.Granularities = Granularities
	}
	return &Rollup{
		reg: o.Registry, customers: customers, grans: slices.Clone(o.Granularities),
		dedupe: !o.KeepDuplicates, sites: o.Sites, seen: map[string]struct{}{}, cells: map[Key]*Cell{},
	}
}

// Registry is the rollup's registry.
func (r *Rollup) Registry() *Registry { return r.reg }

// Add applies e, read at offset of partition (NoOffset when unknown), to its
// cells. An unknown customer is an error wrapping pixel.ErrUnknownCustomer.
func (r *Rollup) Add(partition int32, offset int64, e *pixel.Event) error {
	c, err := r.customers.Get(e.Customer)
	if err != nil {
		return fmt.Errorf("rollup event %s: %w", e.EID, err)
	}
	if r.dedupe {
		if _, dup := r.seen[e.EID]; dup {
			r.stats.Duplicates++
			return nil
		}
		r.seen[e.EID] = struct{}{}
	}
	f := r.reg.Fact(e, c)
	if !r.reg.Contributes(&f) {
		r.stats.Ignored++
		return nil
	}
	applied := false
	keys := r.reg.Keys(partition, &f, r.grans)
	if r.sites {
		keys = AppendSiteKeys(keys)
	}
	for _, k := range keys {
		cell := r.cells[k]
		if cell == nil {
			cell = r.reg.NewCell(k)
			r.cells[k] = cell
		}
		if cell.Apply(&f, offset) {
			applied = true
		}
	}
	if applied {
		r.stats.Added++
	} else {
		r.stats.Replayed++
	}
	return nil
}

// AppendSiteKeys appends the site key of each of keys.
func AppendSiteKeys(keys []Key) []Key {
	for _, k := range keys {
		keys = append(keys, SiteKey(k))
	}
	return keys
}

// Put installs a cell (read back from storage), replacing any of its key.
func (r *Rollup) Put(c *Cell) { r.cells[c.Key] = c }

// Get returns the cell of k, or nil.
func (r *Rollup) Get(k Key) *Cell { return r.cells[k] }

// Len is the number of cells.
func (r *Rollup) Len() int { return len(r.cells) }

// Stats reports what Add did so far.
func (r *Rollup) Stats() Stats { return r.stats }

// Cells returns every cell ordered by customer, granularity, bucket,
// partition and tuple.
func (r *Rollup) Cells() []*Cell {
	out := make([]*Cell, 0, len(r.cells))
	for _, c := range r.cells {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Cell) int { return CompareKeys(a.Key, b.Key) })
	return out
}

// CompareKeys orders keys by customer, granularity, bucket, partition and
// tuple.
func CompareKeys(a, b Key) int {
	return cmp.Or(
		cmp.Compare(a.Customer, b.Customer),
		cmp.Compare(a.Granularity, b.Granularity),
		cmp.Compare(a.Bucket, b.Bucket),
		cmp.Compare(a.Partition, b.Partition),
		cmp.Compare(a.Tuple, b.Tuple),
	)
}

// Totals is the sum of Sum metrics and the union of Distinct sets over the
// tuple cells match accepts (nil: all), at one granularity; site cells
// (Key.Site) are left out, as they hold the same events again.
func (r *Rollup) Totals(g Granularity, match func(*Cell) bool) *Cell {
	t := r.reg.NewCell(Key{Granularity: g})
	for _, c := range r.cells {
		if c.Key.Granularity == g && !c.Key.Site() && (match == nil || match(c)) {
			t.Merge(c)
		}
	}
	return t
}
