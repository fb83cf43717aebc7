package diff

import (
	"os"
	"testing"
	"time"
)

// FuzzParseRules checks that the rules parser never panics and that what it
// accepts is valid: every rule passes Validate, ids are unique, tolerances
// are finite and non-negative. Run: go test -fuzz FuzzParseRules ./diff
func FuzzParseRules(f *testing.F) {
	example, err := os.ReadFile("testdata/rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		"",
		"rules: []",
		"rules:\n  - {id: a, reason: b, effect: any}",
		"rules:\n  - {id: a, reason: b, effect: left_missing, expires: 2026-11-25, scope: {url: '^https://x/', url_exclude: 'y', from: 2026-11-01, to: 2026-12-01}}",
		"rules:\n  - {id: a, reason: b, effect: any, scope: {dimensions: {url: ['HTTPS://A/#x'], device: mobile}}}",
		"rules:\n  - &r {id: a, reason: b, effect: any}\n  - *r",
		"tolerances: {visitors: {std_errors: 3, hll_registers: 16384}, pageviews: {absolute: 1, relative: .5}}",
		"tolerances: {visitors: {relative: .nan}}",
		"rules:\n  - id: [a]\n    reason: {b: c}\n",
		"rules: {a: b}",
		"a: &a [*a]",
		"rules:\n  - {id: a, reason: b, effect: any, scope: {url: '(?P<x'}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		ids := map[string]bool{}
		for i := range c.Rules {
			r := &c.Rules[i]
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted an invalid rule: %v", err)
			}
			if ids[r.ID] {
				t.Fatalf("accepted duplicate id %q", r.ID)
			}
			ids[r.ID] = true
			_ = r.Expired(time.Now())
		}
		for m, tol := range c.Tolerances {
			for _, v := range []float64{tol.Absolute, tol.Relative, tol.StdErrors, tol.RelativeStdError} {
				if !(v >= 0) || v > 1e308 {
					t.Fatalf("tolerance %s: accepted %v", m, v)
				}
			}
		}
	})
}
