// Package enginetest helps test nextgen's query side against the real
// Elasticsearch: seeded pixel events (GenEvents), rolled up by the one
// aggregation path and written as rollup documents under a unique index
// prefix (OpenIndex, WriteEvents, WriteDocs), and an oracle that answers
// any query exactly from the raw events (Truth) with the comparison the
// engine's answers are held to (SameAnswer).
//
//	c := enginetest.OpenIndex(t)
//	events := enginetest.GenEvents(42, 6000, enginetest.Now)
//	enginetest.WriteEvents(t, c, customers, events, enginetest.Now)
//	enginetest.SameAnswer(t, enginetest.Truth(t, customers, events, q), answer, q)
package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/nextgen/esindex"
	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/rollup"
)

// Now is the fixed clock of the fixture tests: every event lies
// before it, and retention is judged at it.
var Now = time.Date(2026, 11, 25, 17, 32, 10, 0, time.UTC)

// OpenIndex returns an esindex client on a unique index prefix with the
// rollup templates in place; the indices and templates are deleted when the
// test ends.
func OpenIndex(t testing.TB) *esindex.Client {
	t.Helper()
	cfg := testenv.Require(t, testenv.Elasticsearch)
	c, err := esindex.Open(cfg.ElasticURL, testenv.Name("qe"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(t, time.Minute)
	if err := c.EnsureTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.DeleteAll(ctx); err != nil {
			t.Logf("delete test indices: %v", err)
		}
	})
	return c
}

// WriteEvents rolls events up with the one aggregation code path (rollup,
// deduplicating by eid, with site cells), as the stream engine does, and
// writes the cells to Elasticsearch as rollup documents; cells of indices
// past retention at now are left out (retention would have deleted them).
// Event i goes to partition i%6 with increasing offsets: each customer's
// events are spread over every partition, which Kafka (keyed by customer)
// does only after a partition count change, so a bucket has several site
// documents and distinct metrics are read from the tuple documents.
func WriteEvents(t testing.TB, c *esindex.Client, customers *pixel.Customers, events []pixel.Event, now time.Time) {
	t.Helper()
	WriteEventsPartitioned(t, c, customers, events, now, func(i int, _ *pixel.Event) int32 { return int32(i % 6) })
}

// ByCustomer partitions events by customer, as the Kafka topic (keyed by
// customer) does: each customer's bucket then has one site document.
func ByCustomer(_ int, e *pixel.Event) int32 {
	h := fnv.New32a()
	h.Write([]byte(e.Customer))
	return int32(h.Sum32() % 6)
}

// WriteEventsPartitioned is WriteEvents with event i in partition
// partition(i, event), offsets increasing per partition.
func WriteEventsPartitioned(t testing.TB, c *esindex.Client, customers *pixel.Customers, events []pixel.Event, now time.Time, partition func(int, *pixel.Event) int32) {
	t.Helper()
	r := rollup.New(customers, rollup.Options{Sites: true})
	offsets := map[int32]int64{}
	for i := range events {
		p := partition(i, &events[i])
		if err := r.Add(p, offsets[p], &events[i]); err != nil {
			t.Fatal(err)
		}
		offsets[p]++
	}
	reg := r.Registry()
	var writes []esindex.Write
	for _, cell := range r.Cells() {
		names := c.Names.Of(esindex.FamilyOf(cell.Key))
		index := names.Index(cell.Key.Granularity, cell.BucketStart())
		if names.Expired(cell.Key.Granularity, index, now) {
			continue
		}
		writes = append(writes, esindex.Write{
			Index: index,
			ID:    esindex.DocID(reg, cell.Key, cell.Dims()),
			Doc:   esindex.AppendDoc(nil, cell),
		})
	}
	WriteDocs(t, c, writes)
}

// WriteDocs bulk-indexes new documents, refreshes the indices and waits
// until searches see every document.
func WriteDocs(t testing.TB, c *esindex.Client, writes []esindex.Write) {
	t.Helper()
	ctx := testenv.Context(t, 5*time.Minute)
	want := CountDocs(t, c) + len(writes)
	for len(writes) > 0 {
		n := min(len(writes), 2000)
		res, err := c.Bulk(ctx, writes[:n])
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range res {
			if !w.OK() {
				t.Fatalf("bulk %s: %d %s: %s", writes[i].ID, w.Status, w.ErrType, w.ErrReason)
			}
		}
		writes = writes[n:]
	}
	for deadline := time.Now().Add(time.Minute); ; {
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		n := CountDocs(t, c)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("searches see %d rollup documents, want %d", n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// CountDocs counts the documents searches see in the prefix's rollup
// indices.
func CountDocs(t testing.TB, c *esindex.Client) int {
	t.Helper()
	res, err := esapi.CountRequest{Index: []string{c.Names.Prefix + "-rollup-*"}, AllowNoIndices: esapi.BoolPtr(true)}.Do(testenv.Context(t, time.Minute), c.ES)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Count int `json:"count"`
	}
	if res.IsError() {
		t.Fatalf("count: %s", res.Status())
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Count
}

// GenEvents makes n pixels for the three customers of the repository's
// customers file: mostly in the 26 hours before now, some in the days
// before (partly past 5-minute retention), some up to two years back; with
// tracking parameters, fragments and case to normalise, every referrer
// category and device, and about 3% retried pixels (same eid again).
func GenEvents(seed uint64, n int, now time.Time) []pixel.Event {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	customers := []struct{ id, host, path string }{
		{"acme.example", "acme.example", "/post/%d"},
		{"globex.example", "globex.example", "/2026/11/story-%d"},
		{"initech.example", "blog.initech.example", "/posts/%d"},
	}
	referrers := []string{"", "", "https://www.google.com/search?q=x", "https://t.co/abc", "https://news.ycombinator.com/item?id=1",
		"https://example.org/links", "https://bing.com/?q=y", "INTERNAL"}
	agents := []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile",
		"Mozilla/5.0 (iPad; CPU OS 17_0)", "Googlebot/2.1", ""}
	campaigns := []string{"", "", "", "spring", "black-friday"}
	var out []pixel.Event
	for i := 0; len(out) < n; i++ {
		if len(out) > 0 && rng.IntN(100) < 3 {
			out = append(out, out[rng.IntN(len(out))]) // a retry: same eid
			continue
		}
		c := customers[rng.IntN(len(customers))]
		var age time.Duration
		switch r := rng.IntN(100); {
		case r < 65:
			age = time.Duration(rng.Int64N(int64(26 * time.Hour)))
		case r < 85:
			age = 26*time.Hour + time.Duration(rng.Int64N(int64(10*24*time.Hour)))
		default:
			age = time.Duration(rng.Int64N(int64(690 * 24 * time.Hour)))
		}
		host := c.host
		if rng.IntN(10) == 0 {
			host = "WWW." + host
		}
		u := fmt.Sprintf("https://%s"+c.path, host, rng.IntN(12))
		if camp := campaigns[rng.IntN(len(campaigns))]; camp != "" {
			u += "?utm_campaign=" + camp + "&utm_source=news"
		}
		if rng.IntN(8) == 0 {
			u += "#comments"
		}
		ref := referrers[rng.IntN(len(referrers))]
		if ref == "INTERNAL" {
			ref = "https://" + c.host + "/"
		}
		e := pixel.Event{
			EID:        fmt.Sprintf("%016x-%d", seed, i),
			Customer:   c.id,
			ReceivedAt: now.Add(-age).Truncate(time.Millisecond),
			URL:        u,
			Referrer:   ref,
			DUID:       fmt.Sprintf("v%s-%d", c.id[:2], rng.IntN(400)),
			VisitIndex: 1 + rng.IntN(3),
			UserAgent:  agents[rng.IntN(len(agents))],
		}
		switch r := rng.IntN(10); {
		case r < 5:
			e.Type = pixel.TypePageView
		case r < 8:
			e.Type = pixel.TypePagePing
		case r < 9:
			e.Type, e.SECategory, e.SEAction = pixel.TypeStructured, "video", "start"
		default:
			e.Type, e.SECategory, e.SEAction = pixel.TypeStructured, "video", "pause"
		}
		if rng.IntN(20) == 0 {
			e.DUID, e.NUID = "", fmt.Sprintf("n-%d", rng.IntN(50))
		}
		out = append(out, e)
	}
	return out
}
