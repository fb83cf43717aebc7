// Package dashboards is `brooks dashboards`: the customer analytics and
// the operator console in the browser. It reads only through the routing
// proxy (POST /v1/query, GET /v1/shadow/*) and the admin APIs (cutover,
// audit, ledger, nextgen's raw drill-down) with the signed-in user's own
// bearer token, kept in an HttpOnly cookie. Pages are html/template with
// htmx; charts are Chart.js, bundled by esbuild at `make build` time and
// embedded (web/dist).
//
// Usage:
//
//	d, err := dashboards.New(dashboards.Options{ProxyURL: "http://127.0.0.1:8090", Customers: customers})
//	r := component.New(component.Options{Name: "dashboards", Addr: dashboards.DefaultAddr})
//	d.Mount(r)
//	err = r.Run(ctx)
package dashboards

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brooksdata/brooks/internal/component"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
)

// DefaultAddr is where `brooks dashboards` listens.
const DefaultAddr = "127.0.0.1:8088"

//go:embed templates/*.html
var templateFS embed.FS

// The bundle `make build` writes (npm ci, esbuild); only .gitkeep when it
// was not built.
//
//go:embed all:web/dist
var distFS embed.FS

// Options configure the dashboards.
type Options struct {
	// ProxyURL is the routing proxy: POST /v1/query and GET /v1/shadow/*.
	ProxyURL string
	// CutoverURL is the cutover controller's admin API (/v1/cutover/...).
	CutoverURL string
	// AdminURL serves the audit's admin APIs (GET /v1/audit/runs,
	// /v1/ledger/report): brooks audit serve, default 127.0.0.1:9185.
	AdminURL string
	// RawURL serves nextgen's GET /v1/raw drill-down (admin sessions only).
	RawURL string
	// Customers gives the customer list and time zones (customers.yaml).
	Customers *pixel.Customers
	// Refresh is how often the real-time panel reloads itself.
	Refresh time.Duration
	// SessionTTL is how long a token's role is cached; SessionMaxAge is the
	// cookie's lifetime.
	SessionTTL, SessionMaxAge time.Duration
	// SecureCookie marks the session cookie Secure (behind TLS).
	SecureCookie bool
	// HTTPClient reads the APIs (one with a 15 s timeout when nil).
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Registerer gets the dashboards' metrics (a new registry when nil).
	Registerer prometheus.Registerer
	// Logger logs failures; nil discards. Tokens are never logged.
	Logger *slog.Logger
}

// DefaultOptions returns the local stack's settings; Customers must be
// filled in.
func DefaultOptions() Options {
	return Options{
		ProxyURL: "http://127.0.0.1:8090", RawURL: "http://127.0.0.1:8082", CutoverURL: "http://127.0.0.1:8093",
		AdminURL: "http://127.0.0.1:9185",
		Refresh:  5 * time.Second, SessionTTL: time.Minute, SessionMaxAge: 12 * time.Hour,
	}
}

// Server is the dashboards' HTTP handlers.
type Server struct {
	opts Options
	log  *slog.Logger
	tmpl map[string]*template.Template
	dist fs.FS
	sess *sessions
	m    *metrics
}

// New checks o and parses the templates.
func New(o Options) (*Server, error) {
	d := DefaultOptions()
	if o.Customers == nil {
		return nil, errors.New("dashboards: no customers")
	}
	if o.ProxyURL == "" {
		return nil, errors.New("dashboards: the proxy URL is required")
	}
	o.ProxyURL = strings.TrimSuffix(o.ProxyURL, "/")
	if o.AdminURL == "" {
		o.AdminURL = d.AdminURL
	}
	if o.CutoverURL == "" {
		o.CutoverURL = d.CutoverURL
	}
	if o.Refresh <= 0 {
		o.Refresh = d.Refresh
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = d.SessionTTL
	}
	if o.SessionMaxAge <= 0 {
		o.SessionMaxAge = d.SessionMaxAge
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	tm, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	dist, err := fs.Sub(distFS, "web/dist")
	if err != nil {
		return nil, err
	}
	return &Server{opts: o, log: obs.OrDiscard(o.Logger), tmpl: tm, dist: dist, sess: newSessions(o.SessionTTL), m: newMetrics(o.Registerer)}, nil
}

// AssetsBuilt reports whether the embedded bundle exists (`make build`).
func (s *Server) AssetsBuilt() bool {
	_, err := fs.Stat(s.dist, "app.js")
	return err == nil
}

func (s *Server) api(token string) api { return api{http: s.opts.HTTPClient, token: token} }

// Mux is where Mount adds the routes; *component.Runner satisfies it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Mount adds the pages. They check the session cookie themselves, so they
// are component.Public (no runner bearer token).
func (s *Server) Mount(m Mux) {
	for pattern, h := range s.routes() {
		m.Handle(pattern, component.Public(s.m.count(pattern, h)))
	}
}

// Handler is the routes on a component runner's handler, for tests.
func (s *Server) Handler() http.Handler {
	r := component.New(component.Options{Name: "dashboards", Logger: s.log})
	s.Mount(r)
	return r.Handler()
}

func (s *Server) routes() map[string]http.Handler {
	cust := func(h http.HandlerFunc) http.Handler { return s.requireSession(false, h) }
	admin := func(h http.HandlerFunc) http.Handler { return s.requireSession(true, h) }
	return map[string]http.Handler{
		"GET /assets/":  http.StripPrefix("/assets/", http.HandlerFunc(s.asset)),
		"GET /signin":   http.HandlerFunc(s.signInPage),
		"POST /signin":  http.HandlerFunc(s.signIn),
		"POST /signout": http.HandlerFunc(s.signOut),
		"GET /{$}": cust(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, home(sessionFrom(r.Context()).p), http.StatusSeeOther)
		}),
		"GET /c/{customer}":                           cust(s.analyticsPage),
		"GET /c/{customer}/panel/realtime":            cust(s.realtimePanel),
		"GET /c/{customer}/panel/top":                 cust(s.topPanel),
		"GET /c/{customer}/panel/{dimension}":         cust(s.breakdownPanel),
		"GET /c/{customer}/history":                   cust(s.historyPage),
		"GET /console":                                admin(s.consolePage),
		"GET /console/customers/{customer}":           admin(s.consoleCustomerPage),
		"POST /console/customers/{customer}/{action}": admin(s.transition),
		"GET /console/diff":                           admin(s.diffPage),
		"GET /console/raw":                            admin(s.rawPage),
		"GET /console/ledger":                         admin(s.ledgerPage),
	}
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	if !s.AssetsBuilt() {
		http.Error(w, "dashboards assets were not built: run `make build`", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeFileFS(w, r, s.dist, r.URL.Path)
}
