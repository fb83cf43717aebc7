package faults

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/brooksdata/brooks/query"
)

// Asker answers queries (a system's *query.Client).
type Asker interface {
	Do(ctx context.Context, q *query.Query) (*query.Answer, error)
}

// Stale is the stale-answer fault, planted on the query path: a cache in
// front of one system's query API, as a proxy-side fault injector would
// sit. Until Freeze it passes every question through and remembers the
// answer; once frozen, questions about the frozen customer are answered
// from the cache (a question it never saw is asked once and then kept),
// so the answers stop following the data. Other customers pass through.
type Stale struct {
	Next Asker

	mu       sync.Mutex
	customer string
	cache    map[string]*query.Answer
}

// NewStale wraps next.
func NewStale(next Asker) *Stale { return &Stale{Next: next, cache: map[string]*query.Answer{}} }

// Freeze stops customer's answers from updating; Thaw ("" customer)
// lets them follow the data again.
func (s *Stale) Freeze(customer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customer = customer
}

// Thaw undoes Freeze.
func (s *Stale) Thaw() { s.Freeze("") }

// Do answers q.
func (s *Stale) Do(ctx context.Context, q *query.Query) (*query.Answer, error) {
	b, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	key := string(b)
	s.mu.Lock()
	frozen := s.customer != "" && q.Customer == s.customer
	a, ok := s.cache[key]
	s.mu.Unlock()
	if frozen && ok {
		return a, nil
	}
	a, err = s.Next.Do(ctx, q)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[key] = a
	s.mu.Unlock()
	return a, nil
}
