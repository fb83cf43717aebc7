// Package cutover holds each customer's migration state — legacy, shadow,
// live, complete — which the routing proxy and the shadow comparer act on.
//
// The states live in Cassandra (Store: compare-and-set on a version, with
// an append-only history), move one step at a time (Apply), forward only
// when the gates on the evidence pass (Gates), and back by themselves when
// a live customer's evidence crosses a limit (Controller.Run). The proxy and
// the comparer read them through Polled. See README.md.
//
// File is the older source, a file the operator edits
// (deploy/local/cutover.yaml), kept for tests and demos without Cassandra:
//
//	default: legacy            # customers not listed
//	customers:
//	  acme.example: shadow
//	  globex.example: live
package cutover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// State is where a customer is in the migration.
type State string

// The states, in migration order.
const (
	// Legacy: legacy serves; nextgen is not asked.
	Legacy State = "legacy"
	// Shadow: legacy serves; nextgen answers the same query for comparison.
	Shadow State = "shadow"
	// Live: nextgen serves; legacy answers for comparison.
	Live State = "live"
	// Complete: nextgen serves alone.
	Complete State = "complete"
)

// States lists every state in migration order.
var States = []State{Legacy, Shadow, Live, Complete}

// Valid reports whether s is one of States.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Compared reports whether queries of a customer in s are compared with the
// other system (shadow and live).
func (s State) Compared() bool { return s == Shadow || s == Live }

// ServedByNextgen reports whether nextgen serves a customer in s.
func (s State) ServedByNextgen() bool { return s == Live || s == Complete }

// Parse reads a state name.
func Parse(s string) (State, error) {
	st := State(strings.TrimSpace(s))
	if !st.Valid() {
		return "", fmt.Errorf("state %q is not one of %v", s, States)
	}
	return st, nil
}

type fileFormat struct {
	Default   State            `yaml:"default"`
	Customers map[string]State `yaml:"customers"`
}

// File is a Source read from a YAML file, re-read when the file changes
// (checked at most once per CheckEvery).
type File struct {
	path       string
	checkEvery time.Duration

	mu      sync.Mutex
	checked time.Time
	modTime time.Time
	def     State
	states  map[string]State
	lastErr error
}

// LoadFile reads a states file; later changes to it are picked up within a
// second. A file that becomes invalid keeps the last good states (State
// returns them) and the error is reported by Err.
func LoadFile(path string) (*File, error) {
	f := &File{path: path, checkEvery: time.Second}
	if err := f.reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseStates parses the file format; exported for tests and validation.
func ParseStates(data []byte) (State, map[string]State, error) {
	var ff fileFormat
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&ff); err != nil && !errors.Is(err, io.EOF) {
		return "", nil, fmt.Errorf("parse cutover states: %w", err)
	}
	if ff.Default == "" {
		ff.Default = Legacy
	}
	if !ff.Default.Valid() {
		return "", nil, fmt.Errorf("default: state %q is not one of %v", ff.Default, States)
	}
	for c, s := range ff.Customers {
		if !s.Valid() {
			return "", nil, fmt.Errorf("customers.%s: state %q is not one of %v", c, s, States)
		}
	}
	if ff.Customers == nil {
		ff.Customers = map[string]State{}
	}
	return ff.Default, ff.Customers, nil
}

func (f *File) reload() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("cutover states: %w", err)
	}
	if st.ModTime().Equal(f.modTime) && f.states != nil {
		return nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("cutover states: %w", err)
	}
	def, states, err := ParseStates(data)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	f.def, f.states, f.modTime = def, states, st.ModTime()
	return nil
}

// State returns customer's state: its line in the file, else the default.
func (f *File) State(_ context.Context, customer string) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.checked) >= f.checkEvery {
		f.checked = now
		f.lastErr = f.reload()
	}
	if s, ok := f.states[customer]; ok {
		return s, nil
	}
	return f.def, nil
}

// Err is the error of the last re-read, if it failed.
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// Static is a Source with fixed states, for tests and embedding.
type Static struct {
	Default   State
	Customers map[string]State
}

// State returns the customer's state, else Default (Legacy when empty).
func (s Static) State(_ context.Context, customer string) (State, error) {
	if st, ok := s.Customers[customer]; ok {
		return st, nil
	}
	if s.Default == "" {
		return Legacy, nil
	}
	return s.Default, nil
}
