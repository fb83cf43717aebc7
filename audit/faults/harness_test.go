package faults_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/brooksdata/brooks/audit/faults"
	"github.com/brooksdata/brooks/audit/internal/audittest"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/evidence"
)

// harness is the audit's whole data path on the real servers with loadgen
// traffic, both systems' query clients behind stale-answer injectors, and
// a planter on the same stores.
type harness struct {
	s               *audittest.Stack
	exp             *loadgen.Expectations
	legacy, nextgen *faults.Stale
	planter         *faults.Planter
	from, to        time.Time // the days of the traffic
	sent            int
	start           time.Time
	// comparer and evidence run when startComparer was called.
	comparer *compare.Comparer
	evidence *evidence.Store
}

func newHarness(t *testing.T, o loadgen.Options) *harness {
	t.Helper()
	h := &harness{s: audittest.Start(t, audittest.Options{}), start: time.Now().UTC()}
	h.legacy, h.nextgen = faults.NewStale(h.s.Legacy), faults.NewStale(h.s.Nextgen)
	h.send(t, o)
	rdb := redis.NewClient(&redis.Options{Addr: h.s.Cfg.RedisAddr})
	t.Cleanup(func() { rdb.Close() })
	mc, err := mongo.Connect(context.Background(), options.Client().ApplyURI(h.s.Cfg.MongoURI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Disconnect(context.Background()) })
	po := faults.DefaultOptions()
	po.Sink, po.Customers, po.Redis, po.Mongo, po.LegacyOptions, po.ES = h.s.Sink, h.s.Customers, rdb, mc.Database(h.s.LegacyDB), h.s.LegacyStore.Options(), h.s.ES
	if h.planter, err = faults.New(po); err != nil {
		t.Fatal(err)
	}
	return h
}

// send sends loadgen traffic and waits until the archive has it.
func (h *harness) send(t *testing.T, o loadgen.Options) {
	t.Helper()
	exp, n := h.s.Send(t, o)
	if h.exp == nil {
		h.exp = exp
	}
	h.sent += n
	h.s.WaitArchived(t, int64(h.sent), h.start.Add(-time.Hour))
	h.from = h.start.Truncate(24 * time.Hour)
	h.to = time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
}

// replayAll replays every customer over the traffic's days, judged an
// hour after the last one ends (a test clock: every bucket is settled).
func (h *harness) replayAll(t *testing.T) map[string]*replay.Report {
	t.Helper()
	out := map[string]*replay.Report{}
	for _, c := range h.s.Customers.IDs() {
		o := replay.DefaultOptions()
		o.Sink, o.Customers, o.Legacy, o.Nextgen, o.Raw, o.Now = h.s.Sink, h.s.Customers, h.legacy, h.nextgen, h.s.Raw, h.to.Add(time.Hour)
		rep, err := replay.Run(testenv.Context(t, 2*time.Minute), o, c, h.from, h.to)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = rep
	}
	return out
}

// waitClean replays until every customer's report is clean.
func (h *harness) waitClean(t *testing.T, d time.Duration) map[string]*replay.Report {
	t.Helper()
	var reps map[string]*replay.Report
	audittest.Eventually(t, d, func() string {
		reps = h.replayAll(t)
		for c, r := range reps {
			if !r.OK() {
				return c + " not clean: " + describe(r, 5)
			}
		}
		return ""
	})
	return reps
}

// describe is a report's verdict and its first faulty cells.
func describe(r *replay.Report, n int) string {
	s := fmt.Sprintf("%s %v %v", r.Verdict, r.Counts, r.Reasons)
	for i, cv := range r.Faults() {
		if i == n {
			s += " ..."
			break
		}
		s += fmt.Sprintf(" [%s %s %v %s: %s]", cv.Interval, cv.Bucket.Format("15:04"), cv.Key, cv.Metric, cv.Verdict)
	}
	for _, h := range r.RawStore {
		if h.Status != replay.RawOK {
			s += fmt.Sprintf(" raw %s %s", h.Hour.Format("15:04"), h.Status)
		}
	}
	return s
}

// finding is what the audit named for a planted fault.
type finding struct {
	verdicts map[string]int
	metrics  []string
	buckets  []string // "5m 04:35", "1d 2026-12-04"
	others   []string // what was reported besides the fault
}

// judge reads the replay reports for fault f: every faulty cell must be
// of f's customer, name f's system alone, and lie in f's scope; any other
// finding (another customer, the other system, a cell outside the
// scope, a raw-store hour) is listed in others.
func judge(f faults.Fault, reps map[string]*replay.Report) finding {
	fd := finding{verdicts: map[string]int{}}
	want := replay.LegacyWrong
	if f.System == faults.Nextgen {
		want = replay.NextgenWrong
	}
	from5, to5 := f.From, f.To.Add(5*time.Minute)
	metrics, buckets := map[string]bool{}, map[string]bool{}
	for c, r := range reps {
		for _, h := range r.RawStore {
			if h.Status != replay.RawOK {
				fd.others = append(fd.others, fmt.Sprintf("%s raw store %s %s", c, h.Hour.Format("15:04"), h.Status))
			}
		}
		for _, cv := range r.Faults() {
			inScope := false
			if cv.Interval == "1d" {
				d0 := f.From.Truncate(24 * time.Hour)
				inScope = !cv.Bucket.Before(d0) && cv.Bucket.Before(f.To.Add(5*time.Minute-time.Nanosecond).Truncate(24*time.Hour).Add(24*time.Hour))
			} else {
				inScope = f.Kind == faults.StaleAnswer || (!cv.Bucket.Before(from5) && cv.Bucket.Before(to5))
				if f.Kind == faults.DayMissing {
					inScope = false
				}
			}
			if f.Kind == faults.StaleAnswer {
				inScope = true // a frozen answer misses whatever came later
			}
			if c != f.Customer || cv.Verdict != want || !inScope {
				fd.others = append(fd.others, fmt.Sprintf("%s %s %s %v %s: %s", c, cv.Interval, cv.Bucket.Format(time.RFC3339), cv.Key, cv.Metric, cv.Verdict))
				continue
			}
			fd.verdicts[cv.Verdict]++
			metrics[cv.Metric] = true
			if cv.Interval == "1d" {
				buckets["1d "+cv.Bucket.Format("2006-01-02")] = true
			} else {
				buckets["5m "+cv.Bucket.Format("15:04")] = true
			}
		}
	}
	for m := range metrics {
		fd.metrics = append(fd.metrics, m)
	}
	for b := range buckets {
		fd.buckets = append(fd.buckets, b)
	}
	sort.Strings(fd.metrics)
	sort.Strings(fd.buckets)
	return fd
}

// busiest returns customer's 5-minute bucket with the most post page
// views, and that bucket's busiest post.
func (h *harness) busiest(t *testing.T, customer string) (time.Time, string) {
	t.Helper()
	c, _ := h.s.Customers.Get(customer)
	perBucket, perURL := map[time.Time]int{}, map[time.Time]map[string]int{}
	for k, cell := range h.exp.Cells {
		if k.Customer != customer || !c.IsPost(k.URL) {
			continue
		}
		perBucket[k.Bucket] += cell.Pageviews
		if perURL[k.Bucket] == nil {
			perURL[k.Bucket] = map[string]int{}
		}
		perURL[k.Bucket][k.URL] += cell.Pageviews
	}
	var b time.Time
	for k, n := range perBucket {
		if n > perBucket[b] || (n == perBucket[b] && k.Before(b)) {
			b = k
		}
	}
	if perBucket[b] == 0 {
		t.Fatalf("no post traffic for %s", customer)
	}
	urls := make([]string, 0, len(perURL[b]))
	for u := range perURL[b] {
		urls = append(urls, u)
	}
	slices.SortFunc(urls, func(x, y string) int { return perURL[b][y] - perURL[b][x] })
	return b, urls[0]
}

func join(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
