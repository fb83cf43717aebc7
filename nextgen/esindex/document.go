package esindex

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/brooksdata/brooks/rollup"
)

// AppendDoc appends the JSON document of c: the fixed fields, every
// dimension of c's registry (d_*), every Sum metric (m_*) and every
// Distinct metric's sorted member set (v_*), all as absolute values. A
// site cell's document has "site": true, no d_* fields, and each Distinct
// metric's exact member count (n_*) besides its set.
func AppendDoc(b []byte, c *rollup.Cell) []byte {
	site := c.Key.Site()
	reg := c.Registry()
	b = append(b, `{"customer":`...)
	b = appendString(b, c.Key.Customer)
	b = append(b, `,"bucket":"`...)
	b = c.Key.BucketStart().AppendFormat(b, time.RFC3339)
	b = append(b, `","granularity":`...)
	b = appendString(b, string(c.Key.Granularity))
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(c.Key.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, c.Offset, 10)
	if site {
		b = append(b, `,"site":true`...)
	} else {
		dims := c.Dims()
		for i, d := range reg.Dimensions() {
			b = append(b, ',')
			b = appendString(b, DimField(d.Name))
			b = append(b, ':')
			b = appendString(b, dims[i])
		}
	}
	for _, m := range reg.Metrics() {
		b = append(b, ',')
		switch m.Kind {
		case rollup.Sum:
			b = appendString(b, MetricField(m.Name))
			b = append(b, ':')
			b = strconv.AppendInt(b, c.Sum(m.Name), 10)
		case rollup.Distinct:
			if site {
				b = appendString(b, CountField(m.Name))
				b = append(b, ':')
				b = strconv.AppendInt(b, int64(c.Count(m.Name)), 10)
				b = append(b, ',')
			}
			b = appendString(b, SetField(m.Name))
			b = append(b, ":["...)
			for j, v := range c.Set(m.Name) {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, v)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}')
}

// DecodeDoc reads a document's _source into a cell of reg. Fields reg does
// not know are ignored; fields reg has and the document lacks (written
// before the metric or dimension existed) read as 0, an empty set or "".
func DecodeDoc(reg *rollup.Registry, src []byte) (*rollup.Cell, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(src, &raw); err != nil {
		return nil, fmt.Errorf("decode rollup doc: %w", err)
	}
	var k rollup.Key
	var bucket time.Time
	var offset int64
	for _, f := range []struct {
		name string
		dst  any
	}{{FieldCustomer, &k.Customer}, {FieldGranularity, &k.Granularity}, {FieldBucket, &bucket}, {FieldPartition, &k.Partition}, {FieldOffset, &offset}} {
		v, ok := raw[f.name]
		if !ok {
			return nil, fmt.Errorf("decode rollup doc: no %s", f.name)
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return nil, fmt.Errorf("decode rollup doc: %s: %w", f.name, err)
		}
	}
	if err := k.Granularity.Validate(); err != nil {
		return nil, fmt.Errorf("decode rollup doc: %w", err)
	}
	k.Bucket = bucket.Unix()
	if v, ok := raw[FieldSite]; ok {
		var site bool
		if err := json.Unmarshal(v, &site); err != nil {
			return nil, fmt.Errorf("decode rollup doc: %s: %w", FieldSite, err)
		}
		if site {
			k.Tuple = rollup.SiteTuple
			return decodeMetrics(reg, raw, k, offset)
		}
	}
	dims := reg.Dimensions()
	vals := make([]string, len(dims))
	for i, d := range dims {
		if v, ok := raw[DimField(d.Name)]; ok {
			if err := json.Unmarshal(v, &vals[i]); err != nil {
				return nil, fmt.Errorf("decode rollup doc: %s: %w", DimField(d.Name), err)
			}
		}
	}
	k.Tuple = reg.Tuple(vals)
	return decodeMetrics(reg, raw, k, offset)
}

// decodeMetrics reads a document's sums and sets into a new cell of k.
func decodeMetrics(reg *rollup.Registry, raw map[string]json.RawMessage, k rollup.Key, offset int64) (*rollup.Cell, error) {
	c := reg.NewCell(k)
	c.Offset = offset
	for _, m := range reg.Metrics() {
		switch m.Kind {
		case rollup.Sum:
			if v, ok := raw[MetricField(m.Name)]; ok {
				var n int64
				if err := json.Unmarshal(v, &n); err != nil {
					return nil, fmt.Errorf("decode rollup doc: %s: %w", MetricField(m.Name), err)
				}
				_ = c.SetSum(m.Name, n)
			}
		case rollup.Distinct:
			if v, ok := raw[SetField(m.Name)]; ok {
				var members []string
				if err := json.Unmarshal(v, &members); err != nil {
					return nil, fmt.Errorf("decode rollup doc: %s: %w", SetField(m.Name), err)
				}
				for _, s := range members {
					_ = c.AddMember(m.Name, s)
				}
			}
		}
	}
	return c, nil
}

// appendString appends s as a JSON string (invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
