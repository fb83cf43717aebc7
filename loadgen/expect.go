package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/brooksdata/brooks/pixel"
)

// Key is one cell of the expectations: a customer's URL (normalised) in a
// 5-minute UTC bucket, by referrer category.
type Key struct {
	Customer    string
	Bucket      time.Time
	URL         string
	RefCategory string
}

// Cell holds what was acknowledged for a key.
type Cell struct {
	Pageviews   int
	Pings       int
	VideoStarts int
	// Visitor id sets among page views: all, visit index 1, visit index > 1.
	Visitors          map[string]struct{}
	NewVisitors       map[string]struct{}
	ReturningVisitors map[string]struct{}
}

// Totals sums cells; distinct counts are over the union of their sets.
type Totals struct {
	Pageviews         int
	Pings             int
	VideoStarts       int
	Visitors          int
	NewVisitors       int
	ReturningVisitors int
}

// Expectations are exact answers computed by loadgen from the events the
// collector acknowledged, with this package's own simple code. An event id
// acknowledged twice (a retry) counts once.
type Expectations struct {
	mu    sync.Mutex
	Cells map[Key]*Cell
	// Sent counts acknowledged events per customer.
	Sent map[string]int
	// EIDs lists acknowledged event ids per customer, for ledger checks.
	EIDs map[string][]string
	// Straddled counts requests whose send and acknowledgement fell in
	// different 5-minute buckets: their bucket is not known exactly.
	Straddled int
	seen      map[string]bool
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{Cells: map[Key]*Cell{}, Sent: map[string]int{}, EIDs: map[string][]string{}, seen: map[string]bool{}}
}

// Record adds acknowledged events received in bucket (a 5-minute start).
func (x *Expectations) Record(bucket time.Time, events []map[string]string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range events {
		eid := p["eid"]
		if x.seen[eid] {
			continue
		}
		x.seen[eid] = true
		cust := p["aid"]
		x.Sent[cust]++
		x.EIDs[cust] = append(x.EIDs[cust], eid)
		u := pixel.NormalizeURL(p["url"])
		k := Key{Customer: cust, Bucket: bucket.UTC(), URL: u, RefCategory: pixel.ReferrerCategory(p["refr"], pixel.Host(p["url"]))}
		c := x.Cells[k]
		if c == nil {
			c = &Cell{Visitors: map[string]struct{}{}, NewVisitors: map[string]struct{}{}, ReturningVisitors: map[string]struct{}{}}
			x.Cells[k] = c
		}
		switch p["e"] {
		case "pv":
			c.Pageviews++
			v := p["duid"]
			c.Visitors[v] = struct{}{}
			if n, _ := strconv.Atoi(p["vid"]); n == 1 {
				c.NewVisitors[v] = struct{}{}
			} else if n > 1 {
				c.ReturningVisitors[v] = struct{}{}
			}
		case "pp":
			c.Pings++
		case "se":
			if p["se_ca"] == "video" && p["se_ac"] == "start" {
				c.VideoStarts++
			}
		}
	}
}

// Keys lists the keys in a stable order.
func (x *Expectations) Keys() []Key {
	x.mu.Lock()
	defer x.mu.Unlock()
	keys := make([]Key, 0, len(x.Cells))
	for k := range x.Cells {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Customer != b.Customer {
			return a.Customer < b.Customer
		}
		if !a.Bucket.Equal(b.Bucket) {
			return a.Bucket.Before(b.Bucket)
		}
		if a.URL != b.URL {
			return a.URL < b.URL
		}
		return a.RefCategory < b.RefCategory
	})
	return keys
}

// Total sums the cells whose key matches (all cells when match is nil).
func (x *Expectations) Total(match func(Key) bool) Totals {
	x.mu.Lock()
	defer x.mu.Unlock()
	var t Totals
	vis, nv, rv := map[string]struct{}{}, map[string]struct{}{}, map[string]struct{}{}
	for k, c := range x.Cells {
		if match != nil && !match(k) {
			continue
		}
		t.Pageviews += c.Pageviews
		t.Pings += c.Pings
		t.VideoStarts += c.VideoStarts
		for v := range c.Visitors {
			vis[v] = struct{}{}
		}
		for v := range c.NewVisitors {
			nv[v] = struct{}{}
		}
		for v := range c.ReturningVisitors {
			rv[v] = struct{}{}
		}
	}
	t.Visitors, t.NewVisitors, t.ReturningVisitors = len(vis), len(nv), len(rv)
	return t
}

// expectationLine is one line of the expectations file.
type expectationLine struct {
	Customer          string    `json:"customer"`
	Bucket            time.Time `json:"bucket"`
	URL               string    `json:"url"`
	RefCategory       string    `json:"referrer_category"`
	Pageviews         int       `json:"pageviews"`
	Visitors          int       `json:"visitors"`
	NewVisitors       int       `json:"new_visitors"`
	ReturningVisitors int       `json:"returning_visitors"`
	Pings             int       `json:"pings"`
	VideoStarts       int       `json:"video_starts"`
}

// WriteFile writes one JSON line per cell (customer, 5-minute bucket, URL,
// referrer category: pageviews, distinct visitors, pings, video starts).
func (x *Expectations) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write expectations: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, k := range x.Keys() {
		c := x.Cells[k]
		if err := enc.Encode(expectationLine{k.Customer, k.Bucket, k.URL, k.RefCategory, c.Pageviews, len(c.Visitors), len(c.NewVisitors), len(c.ReturningVisitors), c.Pings, c.VideoStarts}); err != nil {
			f.Close()
			return fmt.Errorf("write expectations: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write expectations: %w", err)
	}
	return f.Close()
}
