package cutover

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/brooksdata/brooks/internal/obs"
)

// Lister reads every stored state; *Store implements it.
type Lister interface {
	List(ctx context.Context) ([]Record, error)
}

// DefaultPoll is how often a Polled source re-reads the states: a change
// reaches every proxy within one poll plus one read.
const DefaultPoll = 500 * time.Millisecond

// Polled is a Source (the proxy's and the comparer's StateSource) over the
// Cassandra states: it keeps every customer's state in memory and re-reads
// the table when its copy is older than Every, so a query costs no
// Cassandra read and a written change is applied within Every plus one
// read. When a re-read fails the last good states are served (and the
// failure logged); before the first good read State returns the error.
type Polled struct {
	src   Lister
	every time.Duration
	log   *slog.Logger

	mu         sync.Mutex
	read       time.Time
	refreshing bool
	states     map[string]State
	err        error
}

// NewPolled returns a source re-reading src at most once per every
// (DefaultPoll when 0).
func NewPolled(src Lister, every time.Duration, log *slog.Logger) *Polled {
	if every <= 0 {
		every = DefaultPoll
	}
	return &Polled{src: src, every: every, log: obs.OrDiscard(log)}
}

// State returns the customer's state (Legacy when it has none stored).
func (p *Polled) State(ctx context.Context, customer string) (State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.states == nil && time.Since(p.read) >= p.every:
		// Nothing to serve yet: this caller reads (others wait on mu).
		p.refresh(ctx, p.src)
	case time.Since(p.read) >= p.every && !p.refreshing:
		// One caller re-reads without the lock; the others serve the
		// current copy meanwhile.
		p.refreshing = true
		p.mu.Unlock()
		p.refreshUnlocked(ctx)
		p.mu.Lock()
		p.refreshing = false
	}
	if p.states == nil {
		return "", p.err
	}
	if s, ok := p.states[customer]; ok {
		return s, nil
	}
	return Legacy, nil
}

func (p *Polled) refreshUnlocked(ctx context.Context) {
	rs, err := list(ctx, p.src)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apply(rs, err)
}

func (p *Polled) refresh(ctx context.Context, src Lister) {
	rs, err := list(ctx, src)
	p.apply(rs, err)
}

func list(ctx context.Context, src Lister) ([]Record, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return src.List(ctx)
}

// apply installs a read's result; p.mu is held.
func (p *Polled) apply(rs []Record, err error) {
	p.read = time.Now()
	if err != nil {
		if p.err == nil {
			p.log.Warn("cutover states: re-read failed, serving the last good states", "err", err)
		}
		p.err = err
		return
	}
	if p.err != nil {
		p.log.Info("cutover states: re-read again")
	}
	states := make(map[string]State, len(rs))
	for _, r := range rs {
		states[r.Customer] = r.State
	}
	p.states, p.err = states, nil
}
