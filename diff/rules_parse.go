package diff

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/brooksdata/brooks/query"
)

// Config is the content of a rules file: expected-difference rules and
// per-metric tolerances. See README.md for the format.
type Config struct {
	Rules      []Rule
	Tolerances map[string]Tolerance
}

// LoadConfig reads and parses a rules file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseRules parses a rules file and returns its rules.
func ParseRules(data []byte) ([]Rule, error) {
	c, err := ParseConfig(data)
	if err != nil {
		return nil, err
	}
	return c.Rules, nil
}

// ParseConfig parses a rules file: a YAML mapping with optional keys
// "rules" (a list of rules) and "tolerances" (metric → tolerance). Unknown
// keys, aliases and duplicate keys are errors; an error names the rule (id,
// position and line) and the field at fault.
func ParseConfig(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	c := &Config{Tolerances: map[string]Tolerance{}}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // empty file
	}
	err := eachField(doc.Content[0], "rules file", func(key string, v *yaml.Node) error {
		switch key {
		case "rules":
			if v.Kind != yaml.SequenceNode {
				return fieldErr("rules file", "rules", v, "must be a list of rules")
			}
			for i, rn := range v.Content {
				r, err := parseRule(rn, i+1)
				if err != nil {
					return err
				}
				if j := slices.IndexFunc(c.Rules, func(o Rule) bool { return o.ID == r.ID }); j >= 0 {
					return fieldErr(ruleWhere(r.ID, i+1, rn), "id", rn, fmt.Sprintf("duplicate of rule #%d", j+1))
				}
				c.Rules = append(c.Rules, r)
			}
		case "tolerances":
			return eachField(v, "tolerances", func(metric string, tv *yaml.Node) error {
				where := "tolerances." + metric
				if !slices.Contains(query.Metrics, metric) {
					return fieldErr("tolerances", metric, tv, "unknown metric (known: "+strings.Join(query.Metrics, ", ")+")")
				}
				t, err := parseTolerance(tv, where)
				c.Tolerances[metric] = t
				return err
			})
		default:
			return fieldErr("rules file", key, v, "unknown key (want rules, tolerances)")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func ruleWhere(id string, pos int, n *yaml.Node) string {
	if id == "" {
		return fmt.Sprintf("rule #%d (line %d)", pos, n.Line)
	}
	return fmt.Sprintf("rule %q (#%d, line %d)", id, pos, n.Line)
}

func parseRule(n *yaml.Node, pos int) (Rule, error) {
	var r Rule
	// The id comes first so that every later error can name the rule.
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "id" && n.Content[i+1].Kind == yaml.ScalarNode {
				r.ID = n.Content[i+1].Value
			}
		}
	}
	where := ruleWhere(r.ID, pos, n)
	err := eachField(n, where, func(key string, v *yaml.Node) error {
		var err error
		switch key {
		case "id":
			r.ID, err = scalar(v, where, key)
		case "reason":
			r.Reason, err = scalar(v, where, key)
		case "effect":
			var s string
			s, err = scalar(v, where, key)
			r.Effect = Effect(s)
			if err == nil && !r.Effect.Valid() {
				err = fieldErr(where, key, v, fmt.Sprintf("%q is not one of %v", s, Effects))
			}
		case "expires":
			r.Expires, err = timeField(v, where, key)
		case "scope":
			err = parseScope(v, where, &r.Scope)
		default:
			err = fieldErr(where, key, v, "unknown field (want id, reason, scope, effect, expires)")
		}
		return err
	})
	if err != nil {
		return r, err
	}
	switch {
	case strings.TrimSpace(r.ID) == "":
		return r, fieldErr(where, "id", n, "is required")
	case strings.TrimSpace(r.Reason) == "":
		return r, fieldErr(where, "reason", n, "is required: say why the systems differ")
	case r.Effect == "":
		return r, fieldErr(where, "effect", n, fmt.Sprintf("is required (one of %v)", Effects))
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("%s: %w", where, err)
	}
	return r, nil
}

func parseScope(n *yaml.Node, where string, s *Scope) error {
	return eachField(n, where+": scope", func(key string, v *yaml.Node) error {
		field := "scope." + key
		var err error
		switch key {
		case "customers":
			s.Customers, err = stringList(v, where, field)
		case "metrics":
			s.Metrics, err = stringList(v, where, field)
			for _, m := range s.Metrics {
				if err == nil && !slices.Contains(query.Metrics, m) {
					err = fieldErr(where, field, v, fmt.Sprintf("unknown metric %q (known: %s)", m, strings.Join(query.Metrics, ", ")))
				}
			}
		case "dimensions":
			s.Dimensions = map[string][]string{}
			err = eachField(v, where+": "+field, func(d string, dv *yaml.Node) error {
				if !slices.Contains(query.Dimensions, d) {
					return fieldErr(where, field+"."+d, dv, fmt.Sprintf("unknown dimension (known: %s)", strings.Join(query.Dimensions, ", ")))
				}
				vals, err := stringList(dv, where, field+"."+d)
				if d == query.DimURL {
					for i := range vals {
						vals[i] = NormalizeKey(map[string]string{d: vals[i]})[d]
					}
				}
				s.Dimensions[d] = vals
				return err
			})
		case "url", "url_exclude":
			var p string
			var re *regexp.Regexp
			if p, err = scalar(v, where, field); err == nil {
				if re, err = regexp.Compile(p); err != nil {
					err = fieldErr(where, field, v, err.Error())
				}
			}
			if key == "url" {
				s.URL = re
			} else {
				s.URLExclude = re
			}
		case "from":
			s.From, err = timeField(v, where, field)
		case "to":
			s.To, err = timeField(v, where, field)
		default:
			err = fieldErr(where, field, v, "unknown field (want customers, metrics, dimensions, url, url_exclude, from, to)")
		}
		return err
	})
}

func parseTolerance(n *yaml.Node, where string) (Tolerance, error) {
	var t Tolerance
	var registers int
	err := eachField(n, where, func(key string, v *yaml.Node) error {
		if key == "hll_registers" {
			if err := v.Decode(&registers); err != nil || registers <= 0 {
				return fieldErr(where, key, v, "must be a positive whole number")
			}
			return nil
		}
		var dst *float64
		switch key {
		case "absolute":
			dst = &t.Absolute
		case "relative":
			dst = &t.Relative
		case "std_errors":
			dst = &t.StdErrors
		case "relative_std_error":
			dst = &t.RelativeStdError
		default:
			return fieldErr(where, key, v, "unknown field (want absolute, relative, std_errors, relative_std_error, hll_registers)")
		}
		if v.Kind != yaml.ScalarNode || v.Decode(dst) != nil || math.IsNaN(*dst) || math.IsInf(*dst, 0) || *dst < 0 {
			return fieldErr(where, key, v, "must be a finite non-negative number")
		}
		return nil
	})
	if err == nil && registers > 0 {
		if t.RelativeStdError != 0 {
			return t, fieldErr(where, "hll_registers", n, "give either hll_registers or relative_std_error, not both")
		}
		t.RelativeStdError = HLLStdError(registers)
	}
	return t, err
}
