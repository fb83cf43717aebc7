package loadgen

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Options configure a run.
type Options struct {
	// Target is the collector's base URL (http://127.0.0.1:8080).
	Target string
	// Seed makes the traffic reproducible.
	Seed uint64
	// Profiles are the sites to simulate (default DefaultProfiles).
	Profiles []Profile
	// Visitors is each site's visitor pool size.
	Visitors int
	// Events stops the run after this many events (0: until Duration).
	Events int
	// Duration stops the run after this long (0: until Events).
	Duration time.Duration
	// Rate is the target events per second (0: as fast as possible).
	Rate float64
	// Batch is the number of events per POST tp2 request; 1 sends GET /i
	// pixels.
	Batch int
	// Concurrency is the number of requests in flight.
	Concurrency int
	// Guard keeps requests from straddling a 5-minute boundary: no request
	// starts within Guard before one (default 1s).
	Guard time.Duration
	// MaxRetries per request on 503 or a network error (default 20).
	MaxRetries int
	Client     *http.Client
	// Progress, when set, is called after every request with the events
	// acknowledged and failed so far (for a progress bar); calls are
	// serialised.
	Progress func(acked, failed int)
}

// NewSeed returns a fresh random seed: a run with it sends event ids no
// earlier run sent. Print it; the same seed sends the same events again.
func NewSeed() uint64 {
	var b [8]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		return uint64(time.Now().UnixNano())
	}
	return binary.LittleEndian.Uint64(b[:]) >> 1 // fits an int64 for JSON readers
}

// Report says what a run did.
type Report struct {
	Expectations *Expectations
	Requests     int
	Retries      int
	// Failed counts events never acknowledged (rejected or out of retries).
	Failed   int
	Rejected []string
	Elapsed  time.Duration
	Latency  map[string]Latency
}

// Latency summarises request latencies of one endpoint.
type Latency struct {
	Count         int
	P50, P99, Max time.Duration
}

// AcceptedPerSecond is acknowledged events per second of the run.
func (r *Report) AcceptedPerSecond() float64 {
	n := 0
	for _, v := range r.Expectations.Sent {
		n += v
	}
	return float64(n) / r.Elapsed.Seconds()
}

// Run sends traffic until Events or Duration is reached or ctx ends, and
// returns what the collector acknowledged.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Target == "" {
		return nil, errors.New("loadgen: no target collector URL")
	}
	if o.Events <= 0 && o.Duration <= 0 {
		return nil, errors.New("loadgen: give an event count or a duration")
	}
	if o.Profiles == nil {
		o.Profiles = DefaultProfiles()
	}
	if o.Batch <= 0 {
		o.Batch = 1
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Guard <= 0 {
		o.Guard = time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 20
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency * 2}}
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var lim *rate.Limiter
	if o.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(o.Rate), max(o.Batch, int(o.Rate/10)))
	}
	gen := NewGenerator(o.Seed, o.Profiles, o.Visitors)
	rep := &Report{Expectations: NewExpectations(), Latency: map[string]Latency{}}
	work := make(chan []map[string]string, o.Concurrency)
	go func() {
		defer close(work)
		for sent := 0; o.Events <= 0 || sent < o.Events; {
			n := o.Batch
			if o.Events > 0 {
				n = min(n, o.Events-sent)
			}
			if lim != nil && lim.WaitN(ctx, n) != nil {
				return
			}
			chunk := make([]map[string]string, n)
			for i := range chunk {
				chunk[i] = gen.Next()
			}
			select {
			case work <- chunk:
				sent += n
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	acked := 0
	lat := map[string][]time.Duration{}
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range work {
				res := sendChunk(ctx, o, chunk)
				mu.Lock()
				rep.Requests += res.requests
				rep.Retries += res.requests - 1
				if res.err != nil {
					rep.Failed += len(chunk)
					if len(rep.Rejected) < 20 {
						rep.Rejected = append(rep.Rejected, res.err.Error())
					}
				} else {
					lat[res.endpoint] = append(lat[res.endpoint], res.latency)
					if res.straddled {
						rep.Expectations.Straddled++
					}
				}
				if res.err == nil {
					rep.Expectations.Record(res.bucket, chunk)
					acked += len(chunk)
				}
				if o.Progress != nil {
					o.Progress(acked, rep.Failed)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	for ep, ds := range lat {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		rep.Latency[ep] = Latency{Count: len(ds), P50: ds[len(ds)/2], P99: ds[len(ds)*99/100], Max: ds[len(ds)-1]}
	}
	return rep, nil
}

type sendResult struct {
	requests  int
	endpoint  string
	latency   time.Duration
	bucket    time.Time
	straddled bool
	err       error
}

const bucket5m = 5 * time.Minute

// sendChunk sends one request (retrying with the same event ids) and says
// in which 5-minute bucket the collector stamped it.
func sendChunk(ctx context.Context, o Options, chunk []map[string]string) sendResult {
	var res sendResult
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		waitForBoundary(o.Guard)
		t0 := time.Now()
		status, err := send(ctx, o, chunk, &res)
		t1 := time.Now()
		res.requests++
		if err == nil && status/100 == 2 {
			res.latency = t1.Sub(t0)
			res.bucket = t1.UTC().Truncate(bucket5m)
			res.straddled = !t0.UTC().Truncate(bucket5m).Equal(res.bucket)
			return res
		}
		if err == nil && status/100 == 4 {
			res.err = fmt.Errorf("rejected with %d", status)
			return res
		}
		if attempt >= o.MaxRetries {
			res.err = fmt.Errorf("gave up after %d attempts (status %d, err %v)", attempt+1, status, err)
			return res
		}
		// Keep retrying after the run ends too, so what was sent is
		// acknowledged or counted as failed, never left unknown.
		time.Sleep(backoff)
		backoff = min(backoff*2, time.Second)
	}
}

// waitForBoundary sleeps past the next 5-minute boundary when it is closer
// than guard, so a request never straddles one.
func waitForBoundary(guard time.Duration) {
	now := time.Now()
	next := now.Truncate(bucket5m).Add(bucket5m)
	if d := next.Sub(now); d < guard {
		time.Sleep(d + 5*time.Millisecond)
	}
}

// send makes one HTTP request: GET /i for a single event when Batch is 1,
// POST tp2 otherwise. Requests are not bound to ctx, so a run that ends
// does not cut an acknowledged request short.
func send(_ context.Context, o Options, chunk []map[string]string, res *sendResult) (int, error) {
	var req *http.Request
	var err error
	if o.Batch == 1 && len(chunk) == 1 {
		q := url.Values{}
		for k, v := range chunk[0] {
			q.Set(k, v)
		}
		res.endpoint = "GET /i"
		req, err = http.NewRequest(http.MethodGet, o.Target+"/i?"+q.Encode(), nil)
	} else {
		body, _ := json.Marshal(map[string]any{
			"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
			"data":   chunk,
		})
		res.endpoint = "POST tp2"
		req, err = http.NewRequest(http.MethodPost, o.Target+"/com.snowplowanalytics.snowplow/tp2", bytes.NewReader(body))
		if req != nil {
			req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		}
	}
	if err != nil {
		return 0, err
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
