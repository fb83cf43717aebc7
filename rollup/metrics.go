package rollup

import "github.com/brooksdata/brooks/pixel"

// DefaultRegistry holds the metrics and dimensions of the query language,
// plus the internal "pings" count. It is the one place a metric or a
// dimension is defined: add an entry to DefaultMetrics or DefaultDimensions
// and the stream engine, the audit replay and the Elasticsearch documents
// (dynamic templates: m_* long, v_* keyword, d_* keyword) all carry it;
// documents written before read it as 0 (or "").
var DefaultRegistry = MustRegistry(DefaultMetrics(), DefaultDimensions())

func one(ok bool) int64 {
	if ok {
		return 1
	}
	return 0
}

func pageView(f *Fact) bool { return f.Event.Type == pixel.TypePageView }

// DefaultMetrics defines the metrics:
//
//	pageviews           count of pv events
//	pings               count of pp events (internal; engaged_seconds' base)
//	engaged_seconds     pp events × the customer's heartbeat seconds
//	video_starts        se events with category video, action start
//	visitors            distinct Visitor() among pv events
//	new_visitors        distinct visitors among pv events with vid == 1
//	returning_visitors  distinct visitors among pv events with vid > 1
func DefaultMetrics() []Metric {
	return []Metric{
		{Name: "pageviews", Kind: Sum, Help: "count of page views (pv)",
			Amount: func(f *Fact) int64 { return one(pageView(f)) }},
		{Name: "pings", Kind: Sum, Help: "count of page pings (pp)",
			Amount: func(f *Fact) int64 { return one(f.Event.Type == pixel.TypePagePing) }},
		{Name: "engaged_seconds", Kind: Sum, Help: "page pings × the customer's heartbeat seconds",
			Amount: func(f *Fact) int64 {
				if f.Event.Type != pixel.TypePagePing || f.Customer == nil {
					return 0
				}
				return int64(f.Customer.HeartbeatSeconds)
			}},
		{Name: "video_starts", Kind: Sum, Help: "structured events with category video, action start",
			Amount: func(f *Fact) int64 { return one(f.Event.IsVideoStart()) }},
		{Name: "visitors", Kind: Distinct, Help: "distinct visitor ids among page views",
			Member: func(f *Fact) string {
				if !pageView(f) {
					return ""
				}
				return f.Event.Visitor()
			}},
		{Name: "new_visitors", Kind: Distinct, Help: "distinct visitor ids among page views with visit index 1",
			Member: func(f *Fact) string {
				if !pageView(f) || f.Event.VisitIndex != 1 {
					return ""
				}
				return f.Event.Visitor()
			}},
		{Name: "returning_visitors", Kind: Distinct, Help: "distinct visitor ids among page views with visit index above 1",
			Member: func(f *Fact) string {
				if !pageView(f) || f.Event.VisitIndex <= 1 {
					return ""
				}
				return f.Event.Visitor()
			}},
	}
}

// DefaultDimensions defines the dimensions, with pixel's derivations:
// url (normalised), referrer_domain ("" for direct traffic),
// referrer_category, campaign (utm_campaign, "" when absent) and device.
func DefaultDimensions() []Dimension {
	return []Dimension{
		{Name: "url", Help: "normalised page URL", Value: func(f *Fact) string { return f.Dims.URL }},
		{Name: "referrer_domain", Help: "referrer host without www., empty for direct traffic",
			Value: func(f *Fact) string { return f.Dims.ReferrerDomain }},
		{Name: "referrer_category", Help: "search, social, internal, direct or other",
			Value: func(f *Fact) string { return f.Dims.ReferrerCategory }},
		{Name: "campaign", Help: "utm_campaign, empty when absent",
			Value: func(f *Fact) string { return f.Dims.Campaign }},
		{Name: "device", Help: "desktop, mobile, tablet, bot or unknown",
			Value: func(f *Fact) string { return f.Dims.Device }},
	}
}
