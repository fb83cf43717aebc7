package rollup

import (
	"fmt"
	"regexp"

	"github.com/brooksdata/brooks/pixel"
)

// Kind says how a metric aggregates.
type Kind int

const (
	// Sum metrics add up: a cell holds the sum of its events' amounts, and
	// cells add across buckets, partitions and tuples.
	Sum Kind = iota + 1
	// Distinct metrics count distinct members (visitor ids): a cell holds
	// the set of members, and sets merge by union.
	Distinct
)

func (k Kind) String() string {
	switch k {
	case Sum:
		return "sum"
	case Distinct:
		return "distinct"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Fact is one event prepared for aggregation: the event, its customer and
// its dimension values, derived once and shared by every granularity.
type Fact struct {
	Event    *pixel.Event
	Customer *pixel.Customer
	Dims     pixel.Dimensions

	// contributions, computed once by the registry that made the Fact.
	reg     *Registry
	amounts []int64
	members []string
}

// contributions evaluates every metric on f once.
func (f *Fact) contributions(r *Registry) ([]int64, []string) {
	if f.reg != r || f.amounts == nil {
		f.reg = r
		f.amounts = make([]int64, len(r.metrics))
		f.members = make([]string, len(r.metrics))
		for i := range r.metrics {
			m := &r.metrics[i]
			switch m.Kind {
			case Sum:
				f.amounts[i] = m.Amount(f)
			case Distinct:
				f.members[i] = m.Member(f)
			}
		}
	}
	return f.amounts, f.members
}

// Metric defines one metric: its name (the query language's, or an internal
// one such as "pings") and what an event contributes to it.
type Metric struct {
	Name string
	Kind Kind
	Help string
	// Amount is what the event adds to a Sum metric; 0 adds nothing.
	Amount func(f *Fact) int64
	// Member is the member the event adds to a Distinct metric's set; ""
	// adds nothing.
	Member func(f *Fact) string
}

// Dimension defines one dimension: its name (the query language's) and the
// event's value. An absent value is the empty string "".
type Dimension struct {
	Name  string
	Help  string
	Value func(f *Fact) string
}

// Registry is the table of metrics and dimensions cells carry. Cells keep
// values in registry order; documents name them by field (see esindex).
type Registry struct {
	metrics    []Metric
	dimensions []Dimension
	metricIdx  map[string]int
	dimIdx     map[string]int
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// NewRegistry validates the definitions: names are lowercase identifiers,
// unique among metrics and among dimensions, and each metric has the
// function its kind needs.
func NewRegistry(metrics []Metric, dims []Dimension) (*Registry, error) {
	r := &Registry{metricIdx: map[string]int{}, dimIdx: map[string]int{}}
	for i, m := range metrics {
		if !nameRE.MatchString(m.Name) {
			return nil, fmt.Errorf("metric %d: name %q is not a lowercase identifier", i+1, m.Name)
		}
		if _, dup := r.metricIdx[m.Name]; dup {
			return nil, fmt.Errorf("metric %q: defined twice", m.Name)
		}
		switch {
		case m.Kind == Sum && m.Amount == nil:
			return nil, fmt.Errorf("metric %q: a sum metric needs Amount", m.Name)
		case m.Kind == Distinct && m.Member == nil:
			return nil, fmt.Errorf("metric %q: a distinct metric needs Member", m.Name)
		case m.Kind != Sum && m.Kind != Distinct:
			return nil, fmt.Errorf("metric %q: kind must be Sum or Distinct", m.Name)
		}
		r.metricIdx[m.Name] = len(r.metrics)
		r.metrics = append(r.metrics, m)
	}
	for i, d := range dims {
		if !nameRE.MatchString(d.Name) {
			return nil, fmt.Errorf("dimension %d: name %q is not a lowercase identifier", i+1, d.Name)
		}
		if _, dup := r.dimIdx[d.Name]; dup {
			return nil, fmt.Errorf("dimension %q: defined twice", d.Name)
		}
		if d.Value == nil {
			return nil, fmt.Errorf("dimension %q: needs Value", d.Name)
		}
		r.dimIdx[d.Name] = len(r.dimensions)
		r.dimensions = append(r.dimensions, d)
	}
	return r, nil
}

// MustRegistry is NewRegistry for definitions known to be valid.
func MustRegistry(metrics []Metric, dims []Dimension) *Registry {
	r, err := NewRegistry(metrics, dims)
	if err != nil {
		panic("rollup: " + err.Error())
	}
	return r
}

// Metrics lists the metric definitions in registry order.
func (r *Registry) Metrics() []Metric { return append([]Metric(nil), r.metrics...) }

// Dimensions lists the dimension definitions in registry order.
func (r *Registry) Dimensions() []Dimension { return append([]Dimension(nil), r.dimensions...) }

// Metric returns the metric named name.
func (r *Registry) Metric(name string) (Metric, bool) {
	i, ok := r.metricIdx[name]
	if !ok {
		return Metric{}, false
	}
	return r.metrics[i], true
}

// MetricIndex is the position of the metric named name, or -1.
func (r *Registry) MetricIndex(name string) int {
	if i, ok := r.metricIdx[name]; ok {
		return i
	}
	return -1
}

// DimensionIndex is the position of the dimension named name, or -1.
func (r *Registry) DimensionIndex(name string) int {
	if i, ok := r.dimIdx[name]; ok {
		return i
	}
	return -1
}

// Fact prepares e of customer c for aggregation.
func (r *Registry) Fact(e *pixel.Event, c *pixel.Customer) Fact {
	return Fact{Event: e, Customer: c, Dims: e.Dims()}
}

// Contributes reports whether f adds anything to any metric; events that
// contribute nothing (other event types, structured events that are not
// video starts) create no cell.
func (r *Registry) Contributes(f *Fact) bool {
	amounts, members := f.contributions(r)
	for i := range amounts {
		if amounts[i] != 0 || members[i] != "" {
			return true
		}
	}
	return false
}
