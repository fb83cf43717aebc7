package diff

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Rule is an expected difference: a known, stated reason why the two sides
// may disagree on some cells. A cell beyond tolerance that a rule's scope
// covers and whose difference has the rule's effect is classed expected
// instead of a mismatch, and the rule's hit count grows. When several rules
// match, the first in order takes the hit.
type Rule struct {
	ID     string
	Reason string
	Scope  Scope
	Effect Effect
	// Expires, when set, ends the rule: at Options.Now >= Expires it no
	// longer matches (the report lists it as expired).
	Expires time.Time
}

// Scope says which cells a rule covers; an empty field covers everything.
type Scope struct {
	Customers []string
	Metrics   []string
	// Dimensions maps a dimension to the values covered; a series without
	// the dimension is not covered.
	Dimensions map[string][]string
	// URL, when set, must match the series' normalised url dimension;
	// URLExclude, when set, must not. Either one needs the url dimension.
	URL        *regexp.Regexp
	URLExclude *regexp.Regexp
	// Without lists dimensions the series must not have: a rule about
	// site totals says Without: [url] so it never covers a per-URL series.
	Without []string
	// From and To bound the bucket start, half-open [From, To); zero = open.
	From, To time.Time
}

// Effect is the shape of difference a rule expects. The set is closed:
type Effect string

const (
	// EffectLeftMissing: left has no value (zero), right has one.
	EffectLeftMissing Effect = "left_missing"
	// EffectRightMissing: right has no value (zero), left has one.
	EffectRightMissing Effect = "right_missing"
	// EffectLeftLower: left < right, including left missing.
	EffectLeftLower Effect = "left_lower"
	// EffectRightLower: right < left, including right missing.
	EffectRightLower Effect = "right_lower"
	// EffectAny: any difference.
	EffectAny Effect = "any"
)

// Effects lists every effect, in documentation order.
var Effects = []Effect{EffectLeftMissing, EffectRightMissing, EffectLeftLower, EffectRightLower, EffectAny}

// Valid reports whether e is one of Effects.
func (e Effect) Valid() bool { return slices.Contains(Effects, e) }

// Has reports whether the difference between left value l and right value r
// (l != r) has the effect.
func (e Effect) Has(l, r float64) bool {
	switch e {
	case EffectLeftMissing:
		return l == 0 && r != 0
	case EffectRightMissing:
		return r == 0 && l != 0
	case EffectLeftLower:
		return l < r
	case EffectRightLower:
		return r < l
	case EffectAny:
		return l != r
	}
	return false
}

// Expired reports whether the rule no longer applies at now.
func (r *Rule) Expired(now time.Time) bool {
	return !r.Expires.IsZero() && !now.Before(r.Expires)
}

// Validate checks a rule built in code; ParseRules checks the same.
func (r *Rule) Validate() error {
	if r.ID == "" {
		return fmt.Errorf("rule: id: is required")
	}
	if r.Reason == "" {
		return fmt.Errorf("rule %q: reason: is required", r.ID)
	}
	if !r.Effect.Valid() {
		return fmt.Errorf("rule %q: effect: %q is not one of %v", r.ID, r.Effect, Effects)
	}
	if !r.Scope.From.IsZero() && !r.Scope.To.IsZero() && !r.Scope.To.After(r.Scope.From) {
		return fmt.Errorf("rule %q: scope.to: must be after scope.from", r.ID)
	}
	return nil
}

// coversSeries reports whether the scope covers a series of a customer,
// leaving out metric and time.
func (s *Scope) coversSeries(customer string, dims map[string]string) bool {
	if len(s.Customers) > 0 && !slices.Contains(s.Customers, customer) {
		return false
	}
	for _, d := range s.Without {
		if _, ok := dims[d]; ok {
			return false
		}
	}
	for d, vals := range s.Dimensions {
		v, ok := dims[d]
		if !ok || !slices.Contains(vals, v) {
			return false
		}
	}
	if s.URL != nil || s.URLExclude != nil {
		u, ok := dims["url"]
		if !ok {
			return false
		}
		if s.URL != nil && !s.URL.MatchString(u) {
			return false
		}
		if s.URLExclude != nil && s.URLExclude.MatchString(u) {
			return false
		}
	}
	return true
}

// coversCell reports whether the scope covers a metric and a bucket start
// (Unix seconds).
func (s *Scope) coversCell(metric string, bucket int64) bool {
	if len(s.Metrics) > 0 && !slices.Contains(s.Metrics, metric) {
		return false
	}
	if !s.From.IsZero() && bucket < s.From.Unix() {
		return false
	}
	if !s.To.IsZero() && bucket >= s.To.Unix() {
		return false
	}
	return true
}

// ruleMatcher finds the rule explaining a difference, caching per series
// which active rules cover it.
type ruleMatcher struct {
	rules    []Rule
	active   []int // indices of unexpired rules
	customer string
	series   []Key
	metrics  []string
	cache    [][]int // per series: covering active rule indices; nil = not computed
	hits     []int   // per rule
}

func newRuleMatcher(rules []Rule, now time.Time, customer string, series []Key, metrics []string) *ruleMatcher {
	m := &ruleMatcher{rules: rules, customer: customer, series: series, metrics: metrics,
		hits: make([]int, len(rules))}
	for i := range rules {
		if !rules[i].Expired(now) {
			m.active = append(m.active, i)
		}
	}
	if len(m.active) > 0 {
		m.cache = make([][]int, len(series))
	}
	return m
}

// match returns the index of the first active rule explaining the cell's
// difference and counts its hit, or -1.
func (m *ruleMatcher) match(s int32, bucket int64, metric int32, l, r float64) int {
	if len(m.active) == 0 {
		return -1
	}
	cands := m.cache[s]
	if cands == nil {
		cands = make([]int, 0, len(m.active))
		for _, i := range m.active {
			if m.rules[i].Scope.coversSeries(m.customer, m.series[s].Dims) {
				cands = append(cands, i)
			}
		}
		m.cache[s] = cands
	}
	for _, i := range cands {
		rule := &m.rules[i]
		if rule.Effect.Has(l, r) && rule.Scope.coversCell(m.metrics[metric], bucket) {
			m.hits[i]++
			return i
		}
	}
	return -1
}
