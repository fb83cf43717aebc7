package audittest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/shadow/collector"
)

// PastEvents makes n events of customer received at times spread over
// [from, from+span): page views of posts and other pages with referrers,
// and page pings, with eids unique to the seed. urls are the customer's
// pages to pick from.
func PastEvents(seed uint64, customer string, urls []string, from time.Time, span time.Duration, n int) []pixel.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	refs := []string{"", "https://www.google.com/search?q=x", "https://twitter.com/a", "https://news.example.org/x"}
	out := make([]pixel.Event, n)
	for i := range out {
		typ := pixel.TypePageView
		if rng.IntN(4) == 0 {
			typ = pixel.TypePagePing
		}
		out[i] = pixel.Event{
			EID: fmt.Sprintf("00000000-%04x-4000-8000-%012x", seed%0xffff, i), Customer: customer, Type: typ,
			ReceivedAt: from.Add(time.Duration(rng.Int64N(int64(span)))).UTC().Truncate(time.Millisecond),
			URL:        urls[rng.IntN(len(urls))], Referrer: refs[rng.IntN(len(refs))],
			DUID: fmt.Sprintf("visitor-%d", rng.IntN(40)), VisitIndex: 1 + rng.IntN(3),
		}
	}
	return out
}

// Produce writes events to the stack's topic as the collector would
// (keyed by customer), for events whose receive time the test chooses.
func (s *Stack) Produce(t *testing.T, events []pixel.Event) {
	t.Helper()
	w := collector.NewWriter(s.Cfg.KafkaBrokers, s.Cfg.Topic)
	defer w.Close()
	msgs := make([]kafka.Message, len(events))
	for i := range events {
		b, err := events[i].Marshal()
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = kafka.Message{Key: []byte(events[i].Customer), Value: b}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for lo := 0; lo < len(msgs); lo += 500 {
		hi := min(lo+500, len(msgs))
		for attempt := 0; ; attempt++ {
			err := w.WriteMessages(ctx, msgs[lo:hi]...)
			if err == nil {
				break
			}
			if attempt == 20 {
				t.Fatalf("produce: %v", err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}
