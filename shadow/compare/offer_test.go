package compare

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/brooksdata/brooks/query"
)

// TestOffer checks sampling and the bounded queue without running the
// workers: nothing is asked of any system.
func TestOffer(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := DefaultOptions()
	o.Legacy, o.Nextgen = query.NewClient("http://127.0.0.1:1"), query.NewClient("http://127.0.0.1:1")
	o.Pace, o.QueueSize, o.Registerer = -1, 2, reg
	o.Sampling = map[string]float64{"never.example": 0, "half.example": 0.5}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	job := func(cust string) Job {
		return Job{Query: &query.Query{Customer: cust, From: time.Now(), To: time.Now().Add(time.Hour)}, ServedBy: Legacy}
	}
	if c.Offer(job("never.example")) {
		t.Error("a customer sampled at 0 was queued")
	}
	for i, want := range []bool{true, true, false, false} {
		if got := c.Offer(job("all.example")); got != want {
			t.Errorf("offer %d: queued %v, want %v (queue of 2)", i, got, want)
		}
	}
	if got := value(c.m.dropped.WithLabelValues("never.example", "sampled_out")); got != 1 {
		t.Errorf("sampled_out = %v", got)
	}
	if got := value(c.m.dropped.WithLabelValues("all.example", "queue_full")); got != 2 {
		t.Errorf("queue_full = %v", got)
	}
	if got := value(c.m.queueDepth); got != 2 {
		t.Errorf("queue depth = %v", got)
	}
	// Half sampling keeps roughly half (drain the queue as we go).
	<-c.queue
	<-c.queue
	kept := 0
	for range 2000 {
		if c.Offer(job("half.example")) {
			kept++
			<-c.queue
		}
	}
	if kept < 850 || kept > 1150 {
		t.Errorf("sampling 0.5 kept %d of 2000", kept)
	}
}

func value(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		return -1
	}
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}
