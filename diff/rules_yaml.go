package diff

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// eachField calls fn for every key of a mapping node in order, rejecting
// non-mappings, non-scalar and duplicate keys, and aliases.
func eachField(n *yaml.Node, where string, fn func(key string, v *yaml.Node) error) error {
	if n.Kind == yaml.AliasNode {
		return fmt.Errorf("%s (line %d): aliases are not supported", where, n.Line)
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s (line %d): must be a mapping", where, n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s (line %d): keys must be plain names", where, k.Line)
		}
		if seen[k.Value] {
			return fieldErr(where, k.Value, k, "appears twice")
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode || k.Value == "<<" {
			return fieldErr(where, k.Value, v, "aliases and merge keys are not supported")
		}
		if err := fn(k.Value, v); err != nil {
			return err
		}
	}
	return nil
}

func fieldErr(where, field string, n *yaml.Node, msg string) error {
	return fmt.Errorf("%s: %s (line %d): %s", where, field, n.Line, msg)
}

func scalar(n *yaml.Node, where, field string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fieldErr(where, field, n, "must be a single value")
	}
	return n.Value, nil
}

func stringList(n *yaml.Node, where, field string) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fieldErr(where, field, n, "must be a value or a list of values")
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode {
			return nil, fieldErr(where, field, e, "list entries must be single values")
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// timeField parses RFC 3339 or a date (midnight UTC).
func timeField(n *yaml.Node, where, field string) (time.Time, error) {
	s, err := scalar(n, where, field)
	if err != nil {
		return time.Time{}, err
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fieldErr(where, field, n, "want RFC 3339 (2026-11-25T00:00:00Z) or a date (2026-11-25)")
}
