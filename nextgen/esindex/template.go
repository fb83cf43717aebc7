package esindex

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/brooksdata/brooks/rollup"
)

// TemplateBody is the composable index template of g's indices: settings
// (refresh every refresh),
// the alias, the fixed fields and the dynamic templates that map m_* to
// long, d_* to keyword and v_* to keyword. Fields that are only aggregated
// or read back (m_*, v_*, offset, partition) keep doc values but are not
// indexed for search ("index": false): indexing costs less, and sum,
// cardinality and the other aggregations work as usual; term and range
// queries on them do not.
//
// Site indices (Family Sites) differ: their v_* sets are kept in _source
// only ("enabled": false: not parsed, not indexed; the writer reads them
// back to go on counting), and n_* (the exact member counts) are long doc
// values. They have no d_* fields.
func (n Names) TemplateBody(g rollup.Granularity, refresh time.Duration) []byte {
	dynamic := []any{
		map[string]any{"metrics": map[string]any{"match": MetricPrefix + "*", "mapping": map[string]any{"type": "long", "index": false}}},
		map[string]any{"dimensions": map[string]any{"match": DimensionPrefix + "*", "mapping": map[string]any{"type": "keyword"}}},
		map[string]any{"visitor_sets": map[string]any{"match": SetPrefix + "*", "mapping": map[string]any{"type": "keyword", "index": false}}},
	}
	schema := "rollup/v1"
	if n.Family == Sites {
		schema = "rollup-site/v1"
		dynamic = []any{
			map[string]any{"metrics": map[string]any{"match": MetricPrefix + "*", "mapping": map[string]any{"type": "long", "index": false}}},
			map[string]any{"counts": map[string]any{"match": CountPrefix + "*", "mapping": map[string]any{"type": "long", "index": false}}},
			map[string]any{"visitor_sets": map[string]any{"match": SetPrefix + "*", "mapping": map[string]any{"type": "object", "enabled": false}}},
		}
	}
	body := map[string]any{
		"index_patterns": []string{n.Pattern(g)},
		"priority":       200,
		"_meta":          map[string]any{"owner": "brooks nextgen", "schema": schema, "granularity": string(g)},
		"template": map[string]any{
			"settings": map[string]any{
				"number_of_shards":   1,
				"number_of_replicas": 0,
				"refresh_interval":   durationSetting(refresh),
			},
			"aliases": map[string]any{n.Alias(g): map[string]any{}},
			"mappings": map[string]any{
				"dynamic":           true,
				"dynamic_templates": dynamic,
				"properties": map[string]any{
					FieldCustomer:    map[string]any{"type": "keyword"},
					FieldBucket:      map[string]any{"type": "date"},
					FieldGranularity: map[string]any{"type": "keyword"},
					FieldPartition:   map[string]any{"type": "integer", "index": false},
					FieldOffset:      map[string]any{"type": "long", "index": false},
					FieldSite:        map[string]any{"type": "boolean", "index": false},
				},
			},
		},
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("esindex: template: %v", err))
	}
	return b
}
