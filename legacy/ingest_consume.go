package legacy

import (
	"context"
	"errors"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/shadow/tee"
)

// The Ingester is its consumer's tee.Handler. Legacy aggregates across
// partitions: every partition's records go into one window, and a window's
// offsets are marked durable (per partition, on the claim they were read
// under) once its MongoDB upsert is done.

// Assigned has nothing to set up: the window is shared.
func (in *Ingester) Assigned(context.Context, *tee.Claim) error { return in.failure() }

// Handle counts a batch into the window. When the window holds MaxBatch
// page views it asks for a flush and, while Redis is behind, waits for the
// window to be taken (backpressure).
func (in *Ingester) Handle(ctx context.Context, c *tee.Claim, batch []kafka.Message) error {
	in.mu.Lock()
	for in.w.batch.Len() >= in.opts.MaxBatch {
		swapped := in.swapped
		in.mu.Unlock()
		in.signalFull()
		select {
		case <-swapped:
		case <-in.stopped:
			return errors.New("ingester stopped")
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := in.failure(); err != nil {
			return err
		}
		in.mu.Lock()
	}
	for _, m := range batch {
		in.add(in.w, c, m)
	}
	full := in.w.batch.Len() >= in.opts.MaxBatch
	in.mu.Unlock()
	if full {
		in.signalFull()
	}
	return nil
}

func (in *Ingester) signalFull() {
	select {
	case in.full <- struct{}{}:
	default:
	}
}

// Tick reports a failed ingester, so the consumer releases the partition.
func (in *Ingester) Tick(context.Context, *tee.Claim) error { return in.failure() }

// Revoked waits until what was read so far (from every partition) is in
// both stores and marked durable, so the consumer commits it before the
// partition moves. If that does not happen within ctx, the records are read
// again by the next owner (at-least-once).
func (in *Ingester) Revoked(ctx context.Context, c *tee.Claim) error {
	done := make(chan error, 1)
	select {
	case in.flushReq <- flushRequest{done: done}:
	case <-in.stopped:
		return in.failure()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (in *Ingester) failure() error {
	if p := in.failed.Load(); p != nil {
		return *p
	}
	return nil
}
