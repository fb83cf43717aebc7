package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/brooksdata/brooks/query"
)

// probeCustomer is the customer the freshness probes and the query
// benchmark use; its post pattern is ^https://acme\.example/post/, so
// legacy tracks the probes' URLs too.
const probeCustomer = "acme.example"

// probe is one page view on a URL nobody else sends: it is visible in a
// system when the system's answer counts a page view for its URL.
type probe struct {
	url   string
	acked time.Time
	seen  map[string]time.Time // system -> first answer counting it
}

// freshness sends probes through the collector and polls each system's
// query API for them: produce time (the collector's acknowledgement, after
// Kafka has the event) to visible in the system's answer.
type freshness struct {
	collector string
	systems   map[string]*query.Client
	run       string
	from, to  time.Time

	mu     sync.Mutex
	probes []*probe
	errors map[string]int
	last   map[string]string // system -> last error
	sent   int
}

func newFreshness(collector string, systems map[string]*query.Client, run string, now time.Time) *freshness {
	from := now.UTC().Truncate(time.Hour)
	return &freshness{
		collector: collector, systems: systems, run: run,
		from: from, to: from.Add(3 * time.Hour), errors: map[string]int{}, last: map[string]string{},
	}
}

// send sends one probe and records its acknowledgement time.
func (f *freshness) send(ctx context.Context, n int) error {
	u := fmt.Sprintf("https://acme.example/post/bench-probe-%s-%d", f.run, n)
	v := url.Values{"aid": {probeCustomer}, "e": {"pv"}, "url": {u}, "eid": {uuid4()},
		"duid": {fmt.Sprintf("bench-probe-%s", f.run)}, "vid": {"1"}, "p": {"web"}, "tv": {"brooks-bench"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.collector+"/i?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: collector answered %s", resp.Status)
	}
	f.mu.Lock()
	f.probes = append(f.probes, &probe{url: u, acked: time.Now(), seen: map[string]time.Time{}})
	f.sent++
	f.mu.Unlock()
	return nil
}

// sendEvery sends a probe every interval until ctx ends.
func (f *freshness) sendEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 1; ; n++ {
		if err := f.send(ctx, n); err != nil && ctx.Err() == nil {
			f.mu.Lock()
			f.errors["send"]++
			f.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pending is the URLs of probes system has not shown yet.
func (f *freshness) pending(system string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.probes {
		if _, ok := p.seen[system]; !ok {
			out = append(out, p.url)
		}
	}
	return out
}

// poll asks every system, every interval, for the page views of its
// pending probes' URLs, until ctx ends.
func (f *freshness) poll(ctx context.Context, interval time.Duration) {
	var wg sync.WaitGroup
	for name, c := range f.systems {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				f.pollOnce(ctx, name, c)
			}
		}()
	}
	wg.Wait()
}

func (f *freshness) pollOnce(ctx context.Context, system string, c *query.Client) {
	urls := f.pending(system)
	if len(urls) == 0 {
		return
	}
	q := &query.Query{
		Customer: probeCustomer, Metrics: []string{query.Pageviews}, GroupBy: []string{query.DimURL},
		Filters: map[string][]string{query.DimURL: urls}, From: f.from, To: f.to, Interval: query.IntervalTotal,
	}
	ans, err := c.Do(ctx, q)
	at := time.Now()
	if err != nil {
		if ctx.Err() == nil {
			f.mu.Lock()
			f.errors[system]++
			f.last[system] = err.Error()
			f.mu.Unlock()
		}
		return
	}
	counted := map[string]bool{}
	for _, s := range ans.Series {
		for _, p := range s.Points {
			if p.Values[query.Pageviews] > 0 {
				counted[s.Key[query.DimURL]] = true
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.probes {
		if _, ok := p.seen[system]; !ok && counted[p.url] {
			p.seen[system] = at
		}
	}
}

// waitSeen waits until every probe is visible in every system, or limit.
func (f *freshness) waitSeen(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		left := 0
		for name := range f.systems {
			left += len(f.pending(name))
		}
		if left == 0 {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// result summarises each system's freshness.
func (f *freshness) result() map[string]Freshness {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]Freshness{}
	for name := range f.systems {
		var ds []time.Duration
		for _, p := range f.probes {
			if at, ok := p.seen[name]; ok {
				ds = append(ds, at.Sub(p.acked))
			}
		}
		out[name] = Freshness{
			Probes: len(f.probes), Seen: len(ds), Errors: f.errors[name], LastError: f.last[name],
			P50: ms(percentile(ds, 0.50)), P99: ms(percentile(ds, 0.99)), Max: ms(percentile(ds, 1)),
		}
	}
	return out
}

// uuid4 is a random RFC 4122 version 4 UUID.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
