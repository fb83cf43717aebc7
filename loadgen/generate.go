// Package loadgen makes realistic synthetic traffic and sends it over the
// real tracker protocol to a collector: many customers, Zipf-distributed
// URLs (posts and other pages), visitors new and returning, sessions, page
// pings for engaged time, referrers from search, social, internal and direct,
// utm campaigns, device user agents and video-start structured events. The
// same seed gives the same events.
//
// Besides sending, it computes its own exact expectations from what the
// collector acknowledged (Expectations), independently of Brooks' own
// aggregation code, so tests can check every system against it.
package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Profile describes one customer's site for the generator.
type Profile struct {
	Customer string
	// Host is the site's host (acme.example).
	Host string
	// PostURL formats the i-th post's URL; other pages are derived from Host.
	PostURL func(i int) string
	Posts   int
	Pages   int
}

// DefaultProfiles are site shapes matching deploy/local/customers.yaml.
func DefaultProfiles() []Profile {
	return []Profile{
		{Customer: "acme.example", Host: "acme.example", Posts: 400, Pages: 40,
			PostURL: func(i int) string { return fmt.Sprintf("https://acme.example/post/%d-story-%d", i, i*7%101) }},
		{Customer: "globex.example", Host: "globex.example", Posts: 250, Pages: 25,
			PostURL: func(i int) string { return fmt.Sprintf("https://globex.example/2026/%02d/article-%d", i%12+1, i) }},
		{Customer: "initech.example", Host: "blog.initech.example", Posts: 120, Pages: 15,
			PostURL: func(i int) string { return fmt.Sprintf("https://blog.initech.example/posts/p%d", i) }},
	}
}

var (
	searchRefs = []string{"https://www.google.com/search?q=news", "https://www.bing.com/search?q=x", "https://duckduckgo.com/?q=y", "https://www.google.de/"}
	socialRefs = []string{"https://t.co/abc123", "https://www.facebook.com/", "https://www.reddit.com/r/news/", "https://www.linkedin.com/feed/", "https://news.ycombinator.com/"}
	otherRefs  = []string{"https://someblog.example/links", "https://newsletter.example/issue/42", "https://aggregator.example/top"}
	campaigns  = []string{"black-friday", "newsletter-weekly", "spring-launch", "retarget-q4"}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
		"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
	}
)

// visitor is a simulated browser.
type visitor struct {
	duid     string
	ua       string
	visits   int    // visit index of the current session
	sid      string // current session id
	left     int    // page views left in the current session
	lastPage string
}

// site is the generator's state for one customer.
type site struct {
	p        Profile
	urls     []string
	zipf     *rand.Zipf
	visitors []*visitor
	vzipf    *rand.Zipf
}

// Generator yields a deterministic stream of tracker events.
type Generator struct {
	rng   *rand.Rand
	sites []*site
	seq   uint64
	seed  uint64
	queue []map[string]string
}

// NewGenerator returns a generator for profiles seeded with seed; visitors
// is the size of each site's visitor pool.
func NewGenerator(seed uint64, profiles []Profile, visitors int) *Generator {
	if visitors <= 0 {
		visitors = 2000
	}
	g := &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed}
	for si, p := range profiles {
		s := &site{p: p}
		for i := range p.Posts {
			s.urls = append(s.urls, p.PostURL(i))
		}
		for i := range p.Pages {
			switch i % 4 {
			case 0:
				s.urls = append(s.urls, fmt.Sprintf("https://%s/", p.Host))
			case 1:
				s.urls = append(s.urls, fmt.Sprintf("https://%s/section/%d", p.Host, i))
			case 2:
				s.urls = append(s.urls, fmt.Sprintf("https://%s/about?tab=%d", p.Host, i))
			default:
				s.urls = append(s.urls, fmt.Sprintf("https://%s/tag/t%d#top", p.Host, i))
			}
		}
		// Shuffle so popular URLs are a mix of posts and pages.
		g.rng.Shuffle(len(s.urls), func(a, b int) { s.urls[a], s.urls[b] = s.urls[b], s.urls[a] })
		s.zipf = rand.NewZipf(g.rng, 1.1, 2, uint64(len(s.urls)-1))
		for v := range visitors {
			s.visitors = append(s.visitors, &visitor{
				duid: fmt.Sprintf("%x-%d-%d", seed, si, v),
				ua:   userAgents[g.rng.IntN(len(userAgents))],
				// Some visitors were here on earlier days: they come back as
				// returning visitors.
				visits: map[bool]int{true: g.rng.IntN(20) + 1, false: 0}[g.rng.IntN(3) == 0],
			})
		}
		s.vzipf = rand.NewZipf(g.rng, 1.05, 4, uint64(visitors-1))
		g.sites = append(g.sites, s)
	}
	return g
}

// Next returns the next event's tracker parameters (the fields of a GET /i
// query string or one tp2 payload item).
func (g *Generator) Next() map[string]string {
	for len(g.queue) == 0 {
		g.queue = g.pageView()
	}
	e := g.queue[0]
	g.queue = g.queue[1:]
	return e
}

// pageView simulates one page view and what follows it: page pings and,
// sometimes, a video start.
func (g *Generator) pageView() []map[string]string {
	s := g.sites[g.rng.IntN(len(g.sites))]
	v := s.visitors[s.vzipf.Uint64()]
	landing := false
	if v.left <= 0 {
		v.visits++
		g.seq++
		v.sid = fmt.Sprintf("s-%x-%d", g.seed, g.seq)
		v.left = 1 + g.rng.IntN(6)
		v.lastPage = ""
		landing = true
	}
	v.left--
	page := s.urls[s.zipf.Uint64()]
	refr := ""
	switch {
	case !landing:
		refr = v.lastPage
	default:
		switch r := g.rng.IntN(10); {
		case r < 3:
			refr = searchRefs[g.rng.IntN(len(searchRefs))]
		case r < 6:
			refr = socialRefs[g.rng.IntN(len(socialRefs))]
		case r < 8:
			refr = ""
		default:
			refr = otherRefs[g.rng.IntN(len(otherRefs))]
		}
		if g.rng.IntN(10) == 0 {
			sep := "?"
			if containsByte(page, '?') {
				sep = "&"
			}
			page += sep + "utm_source=mail&utm_campaign=" + campaigns[g.rng.IntN(len(campaigns))]
		}
	}
	v.lastPage = page
	base := map[string]string{
		"aid": s.p.Customer, "p": "web", "tv": "brooks-loadgen-1", "url": page,
		"duid": v.duid, "vid": strconv.Itoa(v.visits), "sid": v.sid, "ua": v.ua,
	}
	out := []map[string]string{g.event(base, "pv", refr)}
	for range g.rng.IntN(5) {
		out = append(out, g.event(base, "pp", refr))
	}
	if g.rng.IntN(20) == 0 {
		se := g.event(base, "se", refr)
		se["se_ca"], se["se_ac"], se["se_la"] = "video", "start", "clip-"+strconv.Itoa(g.rng.IntN(50))
		out = append(out, se)
	}
	return out
}

func (g *Generator) event(base map[string]string, typ, refr string) map[string]string {
	g.seq++
	e := make(map[string]string, len(base)+6)
	for k, v := range base {
		e[k] = v
	}
	e["e"] = typ
	// A deterministic UUID-shaped event id.
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	e["eid"] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", hi>>32, hi>>16&0xffff, hi&0xfff, lo>>52&0xfff, lo&0xffffffffffff)
	if refr != "" {
		e["refr"] = refr
	}
	return e
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
