package compare

import (
	"testing"
	"time"

	"github.com/brooksdata/brooks/query"
)

func TestDelayedQueue(t *testing.T) {
	d := newDelayedQueue(2)
	t0 := time.Unix(1000, 0)
	q := &query.Query{Customer: "a"}
	if !d.push(t0.Add(2*time.Second), Job{Query: q, Shape: "late"}) || !d.push(t0.Add(time.Second), Job{Query: q, Shape: "early"}) {
		t.Fatal("push refused")
	}
	if d.push(t0, Job{Query: q}) {
		t.Error("a full queue took a job")
	}
	if _, ok := d.pop(t0); ok {
		t.Error("popped a job before it was due")
	}
	if j, ok := d.pop(t0.Add(5 * time.Second)); !ok || j.Shape != "early" {
		t.Errorf("pop = %v %v, want the earliest", j.Shape, ok)
	}
}
