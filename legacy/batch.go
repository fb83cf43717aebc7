package legacy

import (
	"time"

	"github.com/brooksdata/brooks/pixel"
)

// Reasons a raw pixel is not counted by System One, the `reason` label of
// brooks_legacy_ingest_ignored_total.
const (
	ReasonBadRecord       = "bad_record"       // not a decodable pixel record
	ReasonUnknownCustomer = "unknown_customer" // aid not in the customer registry
	ReasonNotPageview     = "not_pageview"     // page pings, structured events, ...
	ReasonNonPost         = "non_post"         // URL does not match the post pattern
	ReasonDuplicate       = "duplicate"        // eid already counted in this or the previous flush window
)

// Pageview is a pixel System One counts: a page view of a post.
type Pageview struct {
	EID      string
	Customer string
	Post     string // normalised URL
	Referrer string // referrer category
	Visitor  string
	At       time.Time // the collector's receive time
}

// Classify decodes a raw-pixel record and decides whether System One counts
// it: it returns the page view, or the reason it is ignored (one of the
// Reason constants). It derives the url and referrer_category dimensions
// with the same functions as pixel.Event.Dims.
func Classify(customers *pixel.Customers, value []byte) (Pageview, string) {
	e, err := pixel.Unmarshal(value)
	if err != nil {
		return Pageview{}, ReasonBadRecord
	}
	return ClassifyEvent(customers, &e)
}

// Counts returns whether System One counts a raw-pixel record (a post page
// view of a known customer): the subset of the raw log legacy is judged on,
// for example its truth reference in the ledger.
func Counts(customers *pixel.Customers) func(value []byte) bool {
	return func(value []byte) bool {
		_, reason := Classify(customers, value)
		return reason == ""
	}
}

// ClassifyEvent is Classify on a decoded event.
func ClassifyEvent(customers *pixel.Customers, e *pixel.Event) (Pageview, string) {
	c, err := customers.Get(e.Customer)
	if err != nil {
		return Pageview{}, ReasonUnknownCustomer
	}
	if e.Type != pixel.TypePageView {
		return Pageview{}, ReasonNotPageview
	}
	post := pixel.NormalizeURL(e.URL)
	if !c.IsPost(post) {
		return Pageview{}, ReasonNonPost
	}
	return Pageview{
		EID:      e.EID,
		Customer: e.Customer,
		Post:     post,
		Referrer: pixel.ReferrerCategory(e.Referrer, pixel.Host(e.URL)),
		Visitor:  e.Visitor(),
		At:       e.ReceivedAt.UTC(),
	}, ""
}

type pvCell struct {
	customer string
	bucket   int64  // unix seconds of the 5-minute bucket start
	post     string // "" for the whole site
	ref      string
}

type dayCell struct {
	customer string
	day      string
	post     string // "" for the whole site (visitors only)
}

type dayTotals struct {
	pageviews int64
	referrers map[string]int64
}

// Batch is one flush window of pre-aggregated page views: what System One
// holds in memory between flushes. It is not safe for concurrent use.
type Batch struct {
	pv5m     map[pvCell]int64
	days     map[dayCell]*dayTotals
	visitors map[dayCell]map[string]struct{}
	n        int
	realtime *realtimeState // set by Store.WriteRealtime; the batch is then frozen
	daily    *Daily
}

// NewBatch returns an empty batch.
func NewBatch() *Batch {
	return &Batch{
		pv5m:     map[pvCell]int64{},
		days:     map[dayCell]*dayTotals{},
		visitors: map[dayCell]map[string]struct{}{},
	}
}

// Add counts one page view.
func (b *Batch) Add(pv Pageview) {
	b.AddN(pv, 1)
}

// AddN counts n page views alike (n > 0), the visitor once; seeding and
// benchmarks use it to write history quickly.
func (b *Batch) AddN(pv Pageview, n int64) {
	at := pv.At.UTC()
	bucket := at.Truncate(Step5m).Unix()
	b.pv5m[pvCell{pv.Customer, bucket, pv.Post, pv.Referrer}] += n
	b.pv5m[pvCell{pv.Customer, bucket, "", pv.Referrer}] += n // the site's total
	day := dayOf(at)
	dc := dayCell{pv.Customer, day, pv.Post}
	t := b.days[dc]
	if t == nil {
		t = &dayTotals{referrers: map[string]int64{}}
		b.days[dc] = t
	}
	t.pageviews += n
	t.referrers[pv.Referrer] += n
	if pv.Visitor != "" {
		b.addVisitor(dc, pv.Visitor)
		b.addVisitor(dayCell{pv.Customer, day, ""}, pv.Visitor)
	}
	b.n += int(n)
}

func (b *Batch) addVisitor(c dayCell, v string) {
	set := b.visitors[c]
	if set == nil {
		set = map[string]struct{}{}
		b.visitors[c] = set
	}
	set[v] = struct{}{}
}

// Daily returns the batch's MongoDB part: its daily totals.
func (b *Batch) Daily() *Daily {
	if b.daily == nil {
		b.daily = &Daily{days: b.days, n: b.n}
	}
	return b.daily
}

// Daily is the MongoDB part of one or more batches: page-view totals and
// referrer breakdowns per customer, post and UTC day.
type Daily struct {
	days   map[dayCell]*dayTotals
	n      int
	chunks []mongoChunk // set by Store.WriteDaily; then frozen
	done   int
}

// NewDaily returns empty daily totals.
func NewDaily() *Daily { return &Daily{days: map[dayCell]*dayTotals{}} }

// Merge adds o's totals to d; d must not have been written yet.
func (d *Daily) Merge(o *Daily) {
	if d.chunks != nil {
		panic("legacy: merge into daily totals being written")
	}
	for c, t := range o.days {
		cur := d.days[c]
		if cur == nil {
			cur = &dayTotals{referrers: map[string]int64{}}
			d.days[c] = cur
		}
		cur.pageviews += t.pageviews
		for r, n := range t.referrers {
			cur.referrers[r] += n
		}
	}
	d.n += o.n
}

// Len is the number of page views in d.
func (d *Daily) Len() int { return d.n }

// Docs is the number of daily documents d updates.
func (d *Daily) Docs() int { return len(d.days) }

// Len is the number of page views in the batch.
func (b *Batch) Len() int { return b.n }

// Empty reports whether the batch has nothing to write.
func (b *Batch) Empty() bool { return b.n == 0 }

// dedupe remembers the eids of the current and the previous flush window,
// so a retried pixel arriving within seconds of the first is counted once.
// It is not exactly-once: a replay after a crash is counted again.
type dedupe struct {
	cur, prev map[string]struct{}
}

func newDedupe() *dedupe {
	return &dedupe{cur: map[string]struct{}{}, prev: map[string]struct{}{}}
}

// seen reports whether eid was seen, and remembers it.
func (d *dedupe) seen(eid string) bool {
	if _, ok := d.cur[eid]; ok {
		return true
	}
	if _, ok := d.prev[eid]; ok {
		return true
	}
	d.cur[eid] = struct{}{}
	return false
}

// rotate starts a new window, forgetting the oldest.
func (d *dedupe) rotate() {
	d.prev = d.cur
	d.cur = make(map[string]struct{}, len(d.prev))
}
