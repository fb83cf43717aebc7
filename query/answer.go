package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Answer is the response to a query. Points are sparse: a bucket with no
// events is absent and means zero.
type Answer struct {
	ServedBy string   `json:"served_by"`
	Query    *Query   `json:"query,omitempty"`
	Series   []Series `json:"series"`
	// Approximate states the error of every approximate metric in the answer.
	Approximate map[string]Approximation `json:"approximate,omitempty"`
}

// Approximation is the stated error of an approximate metric.
type Approximation struct {
	RelativeStdError float64 `json:"relative_std_error"`
	Method           string  `json:"method,omitempty"`
}

// Series is one group of the answer: its group-by key and its points.
type Series struct {
	Key    map[string]string `json:"key"`
	Points []Point           `json:"points"`
}

// Point is one bucket of a series: its start time and metric values. It
// marshals flat: {"t": "...", "pageviews": 12, "visitors": 9}.
type Point struct {
	T      time.Time
	Values map[string]float64
}

// MarshalJSON writes the point flat, metrics in name order.
func (p Point) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"t":"`)
	b.WriteString(p.T.UTC().Format(time.RFC3339))
	b.WriteByte('"')
	for _, k := range slices.Sorted(maps.Keys(p.Values)) {
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(p.Values[k])
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", k, err)
		}
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a flat point.
func (p *Point) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	tr, ok := raw["t"]
	if !ok {
		return fmt.Errorf("point without \"t\"")
	}
	if err := json.Unmarshal(tr, &p.T); err != nil {
		return fmt.Errorf("point time: %w", err)
	}
	p.T = p.T.UTC()
	p.Values = make(map[string]float64, len(raw)-1)
	for k, v := range raw {
		if k == "t" {
			continue
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("point metric %s: %w", k, err)
		}
		p.Values[k] = f
	}
	return nil
}

// KeyString renders a series key canonically ("dim=value|dim=value" in
// dimension name order), for maps and sorting.
func KeyString(key map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(key)) {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(key[k])
	}
	return b.String()
}

// Sort orders series by key and points by time, so two answers to the same
// query compare line by line.
func (a *Answer) Sort() {
	for i := range a.Series {
		sort.Slice(a.Series[i].Points, func(x, y int) bool {
			return a.Series[i].Points[x].T.Before(a.Series[i].Points[y].T)
		})
	}
	sort.SliceStable(a.Series, func(x, y int) bool {
		return KeyString(a.Series[x].Key) < KeyString(a.Series[y].Key)
	})
}
