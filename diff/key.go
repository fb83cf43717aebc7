package diff

import (
	"slices"
	"strconv"
	"strings"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// Key is a normalised series key.
type Key struct {
	// ID encodes Dims canonically and injectively; Results order by it.
	ID   string
	Dims map[string]string
}

// String renders the key as "dim=value|dim=value" in dimension order.
func (k Key) String() string { return query.KeyString(k.Dims) }

// NormalizeKey returns the normalised copy of a series key: url through
// pixel.NormalizeURL, referrer_domain lowercased without "www." and a
// trailing dot, other dimensions unchanged.
func NormalizeKey(key map[string]string) map[string]string {
	out := make(map[string]string, len(key))
	for d, v := range key {
		switch d {
		case query.DimURL:
			v = pixel.NormalizeURL(v)
		case query.DimReferrerDomain:
			v = strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "."), "www.")
		}
		out[d] = v
	}
	return out
}

// keyID encodes dims injectively: quoted names and values in name order.
func keyID(dims map[string]string) string {
	names := make([]string, 0, len(dims))
	for d := range dims {
		names = append(names, d)
	}
	slices.Sort(names)
	var b []byte
	for i, d := range names {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendQuote(b, d)
		b = append(b, '=')
		b = strconv.AppendQuote(b, dims[d])
	}
	return string(b)
}
