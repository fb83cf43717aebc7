package cutover

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gocql/gocql"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Certificates reads the audit's certificates (package audit/certify,
// table audit_certificates) for the audit gates. It expects
//
//	audit_certificates (customer text, day text /* 2006-01-02 UTC */, clean boolean, ...,
//	    PRIMARY KEY ((customer), day))
//
// and reads only customer, day and clean. A missing table is an error, so
// the gate reports "no audit evidence" and blocks.
type Certificates struct {
	Session  *gocql.Session
	Keyspace string
}

// Days implements AuditVerdicts.
func (c Certificates) Days(ctx context.Context, customer string, from, to time.Time) (map[string]bool, error) {
	it := c.Session.Query(fmt.Sprintf(`SELECT day, clean FROM %s.audit_certificates WHERE customer = ? AND day >= ? AND day < ?`, c.Keyspace),
		customer, from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02")).WithContext(ctx).Iter()
	out := map[string]bool{}
	var day string
	var clean bool
	for it.Scan(&day, &clean) {
		out[day] = clean
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("read audit certificates: %w", err)
	}
	return out, nil
}

// FreshnessMetric is nextgen's freshness histogram (nextgen/engine).
const FreshnessMetric = "brooks_nextgen_freshness_seconds"

// GathererFreshness reads the p99 of the freshness histogram from a
// registry (an in-process engine).
type GathererFreshness struct{ Gatherer prometheus.Gatherer }

// FreshnessP99 implements Freshness.
func (g GathererFreshness) FreshnessP99(context.Context) (time.Duration, error) {
	mfs, err := g.Gatherer.Gather()
	if err != nil {
		return 0, fmt.Errorf("gather metrics: %w", err)
	}
	return p99(mfs)
}

// URLFreshness scrapes nextgen's /metrics (`brooks nextgen run`) for the
// p99 of the freshness histogram; Token is sent as a bearer token when set.
type URLFreshness struct {
	URL, Token string
	Client     *http.Client
}

// FreshnessP99 implements Freshness.
func (u URLFreshness) FreshnessP99(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return 0, err
	}
	if u.Token != "" {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	hc := u.Client
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", u.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return 0, fmt.Errorf("scrape %s: %s %s", u.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	p := expfmt.NewTextParser(model.UTF8Validation) // the zero TextParser panics on the first metric name
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", u.URL, err)
	}
	mfs := make([]*dto.MetricFamily, 0, len(fams))
	for _, mf := range fams {
		mfs = append(mfs, mf)
	}
	return p99(mfs)
}

// p99 is the 0.99 quantile of the freshness histogram, the upper bound of
// the first bucket holding 99% of the observations (+Inf: the largest
// finite bound is not enough, reported as an error).
func p99(mfs []*dto.MetricFamily) (time.Duration, error) {
	for _, mf := range mfs {
		if mf.GetName() != FreshnessMetric {
			continue
		}
		var count uint64
		cum := map[float64]uint64{}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			count += h.GetSampleCount()
			for _, b := range h.GetBucket() {
				cum[b.GetUpperBound()] += b.GetCumulativeCount()
			}
		}
		if count == 0 {
			return 0, fmt.Errorf("%s has no observations yet", FreshnessMetric)
		}
		bounds := make([]float64, 0, len(cum))
		for b := range cum {
			bounds = append(bounds, b)
		}
		sort.Float64s(bounds)
		for _, b := range bounds {
			if float64(cum[b]) >= 0.99*float64(count) && !math.IsInf(b, 1) {
				return time.Duration(b * float64(time.Second)), nil
			}
		}
		return 0, fmt.Errorf("%s p99 is above the largest bucket", FreshnessMetric)
	}
	return 0, fmt.Errorf("no %s metric", FreshnessMetric)
}
