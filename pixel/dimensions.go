package pixel

import (
	"net/url"
	"strings"
)

// Referrer categories of the referrer_category dimension.
const (
	RefSearch   = "search"
	RefSocial   = "social"
	RefInternal = "internal"
	RefDirect   = "direct"
	RefOther    = "other"
)

// Device classes of the device dimension.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceBot     = "bot"
	DeviceUnknown = "unknown"
)

var searchDomains = []string{"google.", "bing.com", "duckduckgo.com", "yahoo.", "baidu.com", "yandex.", "ecosia.org", "search.brave.com"}

var socialDomains = []string{"facebook.com", "fb.com", "t.co", "twitter.com", "x.com", "linkedin.com", "lnkd.in", "reddit.com", "instagram.com", "pinterest.", "news.ycombinator.com", "tiktok.com", "youtube.com", "threads.net", "bsky.app", "mastodon."}

// ReferrerCategory classifies a referrer URL for a page on pageHost:
// direct (no referrer), internal (same site), search, social or other.
func ReferrerCategory(referrer, pageHost string) string {
	return categoryOf(Host(referrer), pageHost)
}

// categoryOf is ReferrerCategory given the referrer's host.
func categoryOf(rh, pageHost string) string {
	if rh == "" {
		return RefDirect
	}
	ph := strings.TrimPrefix(strings.ToLower(pageHost), "www.")
	if ph != "" && (rh == ph || strings.HasSuffix(rh, "."+ph)) {
		return RefInternal
	}
	for _, d := range searchDomains {
		if hostMatches(rh, d) {
			return RefSearch
		}
	}
	for _, d := range socialDomains {
		if hostMatches(rh, d) {
			return RefSocial
		}
	}
	return RefOther
}

// hostMatches matches "google." as a label prefix (google.com, google.de,
// news.google.com) and "t.co" as the host or a parent domain.
func hostMatches(host, pattern string) bool {
	if strings.HasSuffix(pattern, ".") {
		return strings.HasPrefix(host, pattern) || strings.Contains(host, "."+pattern)
	}
	return host == pattern || strings.HasSuffix(host, "."+pattern)
}

// ReferrerDomain is the referrer_domain dimension: the referrer's host
// without "www.", or "" for direct traffic.
func ReferrerDomain(referrer string) string { return Host(referrer) }

// Device classifies a User-Agent string.
func Device(ua string) string {
	u := strings.ToLower(ua)
	switch {
	case u == "":
		return DeviceUnknown
	case strings.Contains(u, "bot") || strings.Contains(u, "spider") || strings.Contains(u, "crawl") || strings.Contains(u, "headlesschrome"):
		return DeviceBot
	case strings.Contains(u, "ipad") || strings.Contains(u, "tablet") || (strings.Contains(u, "android") && !strings.Contains(u, "mobile")):
		return DeviceTablet
	case strings.Contains(u, "mobi") || strings.Contains(u, "iphone") || strings.Contains(u, "android"):
		return DeviceMobile
	}
	return DeviceDesktop
}

// Dimensions are an event's values for every dimension of the language.
type Dimensions struct {
	URL              string
	ReferrerDomain   string
	ReferrerCategory string
	Campaign         string
	Device           string
}

// Dims derives every dimension value of e, the one definition both data
// paths and the audit use.
func (e *Event) Dims() Dimensions {
	// Each URL is parsed once; this runs for every event of both systems.
	var d Dimensions
	raw := strings.TrimSpace(e.URL)
	pageHost := ""
	if u, err := url.Parse(raw); err == nil {
		pageHost = hostOf(u)
		d.Campaign = u.Query().Get("utm_campaign")
		d.URL = normalizeParsed(raw, u, nil)
	} else {
		d.URL = raw
	}
	if r, err := url.Parse(strings.TrimSpace(e.Referrer)); err == nil {
		d.ReferrerDomain = hostOf(r)
	}
	d.ReferrerCategory = categoryOf(d.ReferrerDomain, pageHost)
	d.Device = Device(e.UserAgent)
	return d
}

// Get returns the value of the dimension named name ("url", ...).
func (d Dimensions) Get(name string) string {
	switch name {
	case "url":
		return d.URL
	case "referrer_domain":
		return d.ReferrerDomain
	case "referrer_category":
		return d.ReferrerCategory
	case "campaign":
		return d.Campaign
	case "device":
		return d.Device
	}
	return ""
}
