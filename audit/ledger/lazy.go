package ledger

import (
	"context"
	"sync"
	"time"

	"github.com/gocql/gocql"

	"github.com/brooksdata/brooks/internal/cass"
)

// Lazy is a Store that connects to Cassandra on first use, and again after
// a failed attempt (at most every RetryEvery), so a component whose own
// work does not depend on the ledger can start while Cassandra is down.
type Lazy struct {
	Hosts      []string
	Keyspace   string
	RetryEvery time.Duration

	mu      sync.Mutex
	session *gocql.Session
	store   *Store
	lastTry time.Time
	lastErr error
}

// NewLazy returns a ledger store for keyspace on hosts that connects when
// first needed.
func NewLazy(hosts []string, keyspace string) *Lazy {
	return &Lazy{Hosts: hosts, Keyspace: keyspace, RetryEvery: 5 * time.Second}
}

func (l *Lazy) get() (*Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store != nil {
		return l.store, nil
	}
	if l.lastErr != nil && time.Since(l.lastTry) < l.RetryEvery {
		return nil, l.lastErr
	}
	l.lastTry = time.Now()
	s, err := cass.Connect(l.Hosts, l.Keyspace)
	if err != nil {
		l.lastErr = err
		return nil, err
	}
	l.session, l.store, l.lastErr = s, NewStore(s, l.Keyspace), nil
	return l.store, nil
}

// Record is Store.Record, connecting first if needed.
func (l *Lazy) Record(ctx context.Context, stage, writer, batch string, tallies map[Key]Tally) error {
	s, err := l.get()
	if err != nil {
		return err
	}
	return s.Record(ctx, stage, writer, batch, tallies)
}

// Read is Store.Read, connecting first if needed.
func (l *Lazy) Read(ctx context.Context, customer string, from, to time.Time) (Hours, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.Read(ctx, customer, from, to)
}

// Close closes the session, if one was opened.
func (l *Lazy) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.session != nil {
		l.session.Close()
		l.session, l.store = nil, nil
	}
}
