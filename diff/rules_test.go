package diff

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brooksdata/brooks/query"
)

func TestParseConfigExample(t *testing.T) {
	c, err := LoadConfig("testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wantTol := map[string]Tolerance{
		query.Visitors:       {StdErrors: 3, RelativeStdError: 1.04 / 128},
		query.EngagedSeconds: {Relative: 0.001, Absolute: 15},
	}
	if d := cmp.Diff(wantTol, c.Tolerances); d != "" {
		t.Errorf("tolerances (-want +got):\n%s", d)
	}
	reOpt := cmp.Comparer(func(a, b *regexp.Regexp) bool {
		return (a == nil) == (b == nil) && (a == nil || a.String() == b.String())
	})
	want := []Rule{
		{ID: "legacy-posts-only", Reason: "Legacy tracks only URLs matching the customer's post pattern; nextgen tracks every URL.",
			Effect: EffectLeftMissing, Scope: Scope{Customers: []string{"acme.example"}, URLExclude: regexp.MustCompile(`^https://acme\.example/post/`)}},
		{ID: "legacy-no-engaged-time", Reason: "Legacy has no engaged time.", Effect: EffectLeftMissing,
			Scope: Scope{Metrics: []string{query.EngagedSeconds, query.VideoStarts}}},
		{ID: "black-friday-replay", Reason: "Nextgen replayed the 10:00-11:00 outage hour from the raw log; legacy lost it (INC-231).",
			Effect: EffectLeftLower, Expires: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC),
			Scope: Scope{Metrics: []string{query.Pageviews}, Dimensions: map[string][]string{query.DimReferrerCategory: {"search", "social"}},
				From: t0.Add(10 * time.Hour), To: t0.Add(11 * time.Hour)}},
	}
	if d := cmp.Diff(want, c.Rules, reOpt); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
}

func TestParseRulesErrors(t *testing.T) {
	rule := func(body string) string { return "rules:\n  - id: r1\n    reason: why\n    effect: any\n" + body }
	tests := []struct {
		name, yaml string
		want       []string // all must appear in the error
	}{
		{"not yaml", "rules: [", []string{"rules file"}},
		{"top not mapping", "- a", []string{"rules file", "must be a mapping"}},
		{"unknown top key", "rule: []", []string{`rule (line 1): unknown key`}},
		{"rules not list", "rules: {}", []string{"rules (line 1): must be a list"}},
		{"missing id", "rules:\n  - reason: x\n    effect: any", []string{"rule #1 (line 2)", "id", "is required"}},
		{"missing reason", "rules:\n  - id: r1\n    effect: any", []string{`rule "r1" (#1, line 2)`, "reason", "is required"}},
		{"missing effect", "rules:\n  - id: r1\n    reason: x", []string{`rule "r1"`, "effect", "is required"}},
		{"bad effect", "rules:\n  - id: r1\n    reason: x\n    effect: sideways", []string{`rule "r1"`, "effect (line 4)", `"sideways" is not one of`}},
		{"unknown field", rule("    scpoe: {}\n"), []string{`rule "r1"`, "scpoe", "unknown field"}},
		{"bad expiry", rule("    expires: next week\n"), []string{`rule "r1"`, "expires (line 5)", "RFC 3339"}},
		{"bad url regexp", rule("    scope: {url: '(['}\n"), []string{`rule "r1"`, "scope.url", "missing closing"}},
		{"unknown metric", rule("    scope: {metrics: [pagevews]}\n"), []string{`rule "r1"`, "scope.metrics", `unknown metric "pagevews"`}},
		{"unknown dimension", rule("    scope: {dimensions: {country: [de]}}\n"), []string{`rule "r1"`, "scope.dimensions.country", "unknown dimension"}},
		{"unknown scope field", rule("    scope: {customer: a}\n"), []string{`rule "r1"`, "scope.customer", "unknown field"}},
		{"scope not mapping", rule("    scope: [a]\n"), []string{`rule "r1"`, "scope", "must be a mapping"}},
		{"empty time range", rule("    scope: {from: 2026-11-25, to: 2026-11-25}\n"), []string{`rule "r1"`, "scope.to", "after"}},
		{"duplicate id", rule("  - id: r1\n    reason: y\n    effect: any\n"), []string{`rule "r1" (#2`, "duplicate of rule #1"}},
		{"duplicate field", rule("    effect: any\n"), []string{`rule "r1"`, "effect", "appears twice"}},
		{"alias", "base: &b {id: a}\nrules: [*b]", []string{"unknown key"}},
		{"alias in rule", "rules:\n  - &r {id: a, reason: b, effect: any}\n  - *r", []string{"rule #2", "aliases are not supported"}},
		{"tolerance unknown metric", "tolerances: {visiters: {absolute: 1}}", []string{"tolerances", "visiters", "unknown metric"}},
		{"tolerance negative", "tolerances: {visitors: {relative: -1}}", []string{"tolerances.visitors", "relative", "non-negative"}},
		{"tolerance registers", "tolerances: {visitors: {hll_registers: 0}}", []string{"tolerances.visitors", "hll_registers", "positive"}},
		{"tolerance both errors", "tolerances: {visitors: {hll_registers: 16384, relative_std_error: 0.01}}", []string{"tolerances.visitors", "either"}},
		{"tolerance unknown field", "tolerances: {visitors: {sigma: 3}}", []string{"tolerances.visitors", "sigma", "unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseRulesEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "rules: []\n"} {
		if rules, err := ParseRules([]byte(in)); err != nil || len(rules) != 0 {
			t.Errorf("ParseRules(%q) = %v, %v", in, rules, err)
		}
	}
}

// TestRuleScope checks every scope field and effect against one difference:
// left 2, right 5 pageviews for a post URL from search at 10:00.
func TestRuleScope(t *testing.T) {
	key := map[string]string{query.DimURL: "https://acme.example/post/1", query.DimReferrerCategory: "search"}
	tests := []struct {
		name   string
		rule   string // YAML of one rule without id/reason
		l, r   int
		expect bool
	}{
		{"any", "effect: any", 2, 5, true},
		{"left_lower", "effect: left_lower", 2, 5, true},
		{"right_lower does not fit", "effect: right_lower", 2, 5, false},
		{"right_lower", "effect: right_lower", 5, 2, true},
		{"left_missing needs left zero", "effect: left_missing", 2, 5, false},
		{"left_missing", "effect: left_missing", 0, 5, true},
		{"right_missing", "effect: right_missing", 5, 0, true},
		{"customer", "effect: any\n    scope: {customers: [acme.example]}", 2, 5, true},
		{"other customer", "effect: any\n    scope: {customers: [other.example]}", 2, 5, false},
		{"metric", "effect: any\n    scope: {metrics: [pageviews]}", 2, 5, true},
		{"other metric", "effect: any\n    scope: {metrics: [visitors]}", 2, 5, false},
		{"dimension", "effect: any\n    scope: {dimensions: {referrer_category: [social, search]}}", 2, 5, true},
		{"other dimension value", "effect: any\n    scope: {dimensions: {referrer_category: [social]}}", 2, 5, false},
		{"dimension the series lacks", "effect: any\n    scope: {dimensions: {device: [mobile]}}", 2, 5, false},
		{"url value normalised", "effect: any\n    scope: {dimensions: {url: ['HTTPS://ACME.example/post/1#top']}}", 2, 5, true},
		{"url pattern", "effect: any\n    scope: {url: '/post/\\d+$'}", 2, 5, true},
		{"url pattern misses", "effect: any\n    scope: {url: '/video/'}", 2, 5, false},
		{"url exclude", "effect: any\n    scope: {url_exclude: '/post/'}", 2, 5, false},
		{"without a dimension the series has", "effect: any\n    scope: {without: [url]}", 2, 5, false},
		{"without a dimension the series lacks", "effect: any\n    scope: {without: [device]}", 2, 5, true},
		{"time range", "effect: any\n    scope: {from: '2026-11-25T10:00:00Z', to: '2026-11-25T10:05:00Z'}", 2, 5, true},
		{"before range", "effect: any\n    scope: {from: '2026-11-25T10:05:00Z'}", 2, 5, false},
		{"range end exclusive", "effect: any\n    scope: {to: '2026-11-25T10:00:00Z'}", 2, 5, false},
		{"not expired", "effect: any\n    expires: 2026-11-28", 2, 5, true},
		{"expired", "effect: any\n    expires: 2026-11-27", 2, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := ParseRules([]byte("rules:\n  - id: r\n    reason: test\n    " + tt.rule + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			l := ans("l", q5m(query.Pageviews), query.Series{Key: key, Points: []query.Point{pt(600, query.Pageviews, tt.l)}})
			r := ans("r", q5m(query.Pageviews), query.Series{Key: key, Points: []query.Point{pt(600, query.Pageviews, tt.r)}})
			opts := testOptions()
			opts.Now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			opts.Rules = rules
			rep := mustCompare(t, l, r, opts)
			if got := rep.Summary.Expected == 1; got != tt.expect {
				t.Errorf("expected = %v, want %v (counts %v)", got, tt.expect, counts(rep))
			}
			if hits := rep.Rules[0].Hits; hits != rep.Summary.Expected {
				t.Errorf("rule hits %d, expected cells %d", hits, rep.Summary.Expected)
			}
		})
	}
}

func TestRuleFirstMatchTakesTheHit(t *testing.T) {
	rules, err := ParseRules([]byte(`rules:
  - {id: narrow, reason: a, effect: left_missing, scope: {url: /about}}
  - {id: broad, reason: b, effect: any}
  - {id: never, reason: c, effect: any, expires: 2026-01-01}
`))
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Rules = rules
	rep := mustCompare(t, ans("l", q5m(query.Pageviews), ser("https://a.example/x", pt(0, query.Pageviews, 1))),
		ans("r", q5m(query.Pageviews), ser("https://a.example/about", pt(0, query.Pageviews, 2)), ser("https://a.example/x", pt(0, query.Pageviews, 2))), opts)
	got := map[string]int{}
	for _, h := range rep.Rules {
		got[h.ID] = h.Hits
	}
	if d := cmp.Diff(map[string]int{"narrow": 1, "broad": 1, "never": 0}, got); d != "" {
		t.Errorf("hits (-want +got):\n%s", d)
	}
	if !rep.Rules[2].Expired || rep.Rules[0].Expired {
		t.Errorf("expired flags: %+v", rep.Rules)
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	p := t.TempDir() + "/bad.yaml"
	if err := os.WriteFile(p, []byte("rules:\n  - id: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), `rule "x"`) {
		t.Errorf("err = %v", err)
	}
}

func TestScopeWithout(t *testing.T) {
	rules, err := ParseRules([]byte("rules:\n  - {id: site, reason: legacy counts posts only, effect: left_lower, scope: {without: [url]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := &rules[0].Scope
	tests := []struct {
		dims map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"referrer_category": "search"}, true},
		{map[string]string{"url": "https://acme.example/post/1"}, false},
	}
	for _, tt := range tests {
		if got := s.coversSeries("acme.example", tt.dims); got != tt.want {
			t.Errorf("coversSeries(%v) = %v, want %v", tt.dims, got, tt.want)
		}
	}
	if _, err := ParseRules([]byte("rules:\n  - {id: x, reason: y, effect: any, scope: {without: [colour]}}\n")); err == nil || !strings.Contains(err.Error(), `unknown dimension "colour"`) {
		t.Errorf("bad without: %v", err)
	}
}
