package dashboards

import (
	"time"

	"github.com/brooksdata/brooks/query"
)

// chartSpec is what web/src/app.js turns into a Chart.js chart; it travels
// in the canvas's data-chart attribute.
type chartSpec struct {
	Type     string    `json:"type"` // line or bar
	Labels   []string  `json:"labels"`
	Datasets []dataset `json:"datasets"`
	XTitle   string    `json:"x_title,omitempty"`
	YTitle   string    `json:"y_title,omitempty"`
	// Horizontal draws bars sideways (rankings).
	Horizontal bool `json:"horizontal,omitempty"`
	// Spark is a small trend line: no axes or legend, tooltips kept.
	Spark bool `json:"spark,omitempty"`
}

type dataset struct {
	Label string `json:"label"`
	// Data holds one value per label; nil is no value (a gap).
	Data   []*float64 `json:"data"`
	Kind   string     `json:"kind,omitempty"` // line or bar within a mixed chart
	Color  string     `json:"color"`
	Dashed bool       `json:"dashed,omitempty"`
	// Highlight marks points drawn in the alert colour (mismatches).
	Highlight []bool `json:"highlight,omitempty"`
}

// palette of the charts (colour-blind safe, Okabe–Ito).
const (
	colBlue   = "#0072B2"
	colOrange = "#E69F00"
	colGreen  = "#009E73"
	colPurple = "#CC79A7"
	colRed    = "#D55E00"
	colGrey   = "#999999"
)

// buckets are the starts of the step-long buckets of [from, to).
func buckets(from, to time.Time, step time.Duration) []time.Time {
	var out []time.Time
	for t := from; t.Before(to); t = t.Add(step) {
		out = append(out, t)
	}
	return out
}

// bucketValues sums metric over every series of a per bucket; buckets
// without a point are 0 (points are sparse: absent means 0).
func bucketValues(a *query.Answer, metric string, bs []time.Time, shift time.Duration) []*float64 {
	idx := make(map[time.Time]int, len(bs))
	out := make([]*float64, len(bs))
	for i, b := range bs {
		idx[b.UTC()] = i
		out[i] = new(float64)
	}
	if a == nil {
		return out
	}
	for _, se := range a.Series {
		for _, p := range se.Points {
			if i, ok := idx[p.T.Add(shift).UTC()]; ok {
				*out[i] += p.Values[metric]
			}
		}
	}
	return out
}

// pointCount is the number of points of a (every series).
func pointCount(a *query.Answer) int {
	n := 0
	for _, se := range a.Series {
		n += len(se.Points)
	}
	return n
}

// labels formats bucket starts in loc.
func labels(bs []time.Time, loc *time.Location, layout string) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.In(loc).Format(layout)
	}
	return out
}

// hourly folds 5-minute values into hours (a sparkline's points).
func hourly(vals []*float64) []*float64 {
	var out []*float64
	for i := 0; i < len(vals); i += 12 {
		s := 0.0
		for j := i; j < min(i+12, len(vals)); j++ {
			if vals[j] != nil {
				s += *vals[j]
			}
		}
		out = append(out, &s)
	}
	return out
}

func total(a *query.Answer, metric string) float64 {
	s := 0.0
	for _, se := range a.Series {
		for _, p := range se.Points {
			s += p.Values[metric]
		}
	}
	return s
}

func ptr(f float64) *float64 { return &f }
