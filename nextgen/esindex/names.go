package esindex

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/brooksdata/brooks/rollup"
)

// Retention of each granularity: an index is deleted once all of it is
// older than this.
var Retention = map[rollup.Granularity]time.Duration{
	rollup.FiveMinutes: 8 * 24 * time.Hour,
	rollup.OneDay:      2 * 365 * 24 * time.Hour,
}

// Family is a kind of rollup document; each family has indices (and
// templates) of its own.
type Family string

const (
	// Tuples are the documents of tuple cells, one per (customer, bucket,
	// partition, dimension tuple): {prefix}-rollup-{granularity}-….
	Tuples Family = ""
	// Sites are the documents of site cells (rollup.Key.Site), one per
	// (customer, bucket, partition) with exact distinct counts:
	// {prefix}-rollup-site-{granularity}-….
	Sites Family = "site"
)

// Families lists every family.
var Families = []Family{Tuples, Sites}

// FamilyOf is the family of k's document.
func FamilyOf(k rollup.Key) Family {
	if k.Site() {
		return Sites
	}
	return Tuples
}

// Names builds index, alias and template names under one prefix (the
// configuration's IndexPrefix; tests use a unique one), for one family
// (the zero value: Tuples). Every family's indices match
// {prefix}-rollup-*.
type Names struct {
	Prefix string
	Family Family
}

// Of is n for family f.
func (n Names) Of(f Family) Names {
	n.Family = f
	return n
}

// KeyIndex is the index holding the document of k (its family's).
func (n Names) KeyIndex(k rollup.Key) string {
	return n.Of(FamilyOf(k)).Index(k.Granularity, k.BucketStart())
}

// base is "{prefix}-rollup-{granularity}" for tuples,
// "{prefix}-rollup-site-{granularity}" for sites.
func (n Names) base(g rollup.Granularity) string {
	if n.Family != Tuples {
		return n.Prefix + "-rollup-" + string(n.Family) + "-" + string(g)
	}
	return n.Prefix + "-rollup-" + string(g)
}

// Index is the index holding buckets of g starting at bucket (UTC):
// {prefix}-rollup-5m-YYYY.MM.DD or {prefix}-rollup-1d-YYYY.
func (n Names) Index(g rollup.Granularity, bucket time.Time) string {
	bucket = bucket.UTC()
	if g == rollup.OneDay {
		return n.base(g) + "-" + strconv.Itoa(bucket.Year())
	}
	return n.base(g) + "-" + bucket.Format("2006.01.02")
}

// Pattern matches every index of g: {prefix}-rollup-5m-*.
func (n Names) Pattern(g rollup.Granularity) string { return n.base(g) + "-*" }

// Alias is attached to every index of g by its template: {prefix}-rollup-5m.
func (n Names) Alias(g rollup.Granularity) string { return n.base(g) }

// Template is the index template name of g.
func (n Names) Template(g rollup.Granularity) string { return n.base(g) }

// Period returns the time span [start, end) covered by an index of g, from
// its name; ok is false for a name that is not one of g's indices.
func (n Names) Period(g rollup.Granularity, index string) (start, end time.Time, ok bool) {
	suffix, found := strings.CutPrefix(index, n.base(g)+"-")
	if !found {
		return start, end, false
	}
	if g == rollup.OneDay {
		y, err := strconv.Atoi(suffix)
		if err != nil || len(suffix) != 4 {
			return start, end, false
		}
		start = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(1, 0, 0), true
	}
	d, err := time.Parse("2006.01.02", suffix)
	if err != nil {
		return start, end, false
	}
	return d, d.AddDate(0, 0, 1), true
}

// Expired reports whether the index of g named index holds only buckets
// older than g's retention at now.
func (n Names) Expired(g rollup.Granularity, index string, now time.Time) bool {
	_, end, ok := n.Period(g, index)
	return ok && !end.Add(Retention[g]).After(now)
}

// BucketExpired reports whether a bucket of g is already past retention
// (late events for it are not written: its index would be deleted).
func BucketExpired(g rollup.Granularity, bucket int64, now time.Time) bool {
	end := time.Unix(bucket, 0).Add(g.Step())
	return !end.Add(Retention[g]).After(now)
}

// DocID is the document id of a cell:
// {customer}|{bucket unix seconds}|{partition}|{tuple hash}, and
// {customer}|{bucket unix seconds}|{partition}|site for a site cell.
func DocID(reg *rollup.Registry, k rollup.Key, dims []string) string {
	if k.Site() {
		return fmt.Sprintf("%s|%d|%d|site", k.Customer, k.Bucket, k.Partition)
	}
	return fmt.Sprintf("%s|%d|%d|%s", k.Customer, k.Bucket, k.Partition, reg.TupleHash(dims))
}

// Fixed fields of every document.
const (
	FieldCustomer    = "customer"
	FieldBucket      = "bucket"
	FieldGranularity = "granularity"
	FieldPartition   = "partition"
	FieldOffset      = "offset"
	// FieldSite is true in site documents (absent in tuple documents).
	FieldSite = "site"
)

// Field-name prefixes of the dynamic templates.
const (
	MetricPrefix    = "m_"
	SetPrefix       = "v_"
	DimensionPrefix = "d_"
	// CountPrefix names the exact member count of a Distinct metric in
	// site documents: n_<name>.
	CountPrefix = "n_"
)

// CountField is the exact member count of a Distinct metric in a site
// document: n_<name>.
func CountField(name string) string { return CountPrefix + name }

// MetricField is the field of a Sum metric: m_<name>.
func MetricField(name string) string { return MetricPrefix + name }

// SetField is the field of a Distinct metric's member set: v_<name>.
func SetField(name string) string { return SetPrefix + name }

// DimField is the field of a dimension: d_<name>.
func DimField(name string) string { return DimensionPrefix + name }

// Field is the field of the metric named name in reg (m_ or v_), and its
// kind; ok is false for an unknown metric.
func Field(reg *rollup.Registry, name string) (field string, kind rollup.Kind, ok bool) {
	m, ok := reg.Metric(name)
	if !ok {
		return "", 0, false
	}
	if m.Kind == rollup.Distinct {
		return SetField(name), m.Kind, true
	}
	return MetricField(name), m.Kind, true
}
