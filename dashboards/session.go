package dashboards

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/brooksdata/brooks/query"
)

// CookieName is the HttpOnly cookie holding the signed-in user's token.
const CookieName = "brooks_session"

// principal is who a token is: an admin (every customer and the console)
// or one customer's reader. The proxy decides; the dashboards ask it.
type principal struct {
	Admin    bool
	Customer string
}

func (p principal) canRead(customer string) bool { return p.Admin || p.Customer == customer }

// sessions resolves tokens to principals through the proxy and caches the
// answer for a while, so a page does not probe on every request.
type sessions struct {
	mu    sync.Mutex
	cache map[[32]byte]cached
	ttl   time.Duration
}

type cached struct {
	p   principal
	exp time.Time
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{cache: map[[32]byte]cached{}, ttl: ttl}
}

// errBadToken: the proxy refused the token (401).
var errBadToken = errors.New("the proxy does not know this token")

// resolve asks the proxy who token is: an admin token may read the
// evidence API; a customer token may query exactly one customer.
func (s *Server) resolve(ctx context.Context, token string) (principal, error) {
	key := sha256.Sum256([]byte(token))
	now := time.Now()
	s.sess.mu.Lock()
	c, ok := s.sess.cache[key]
	s.sess.mu.Unlock()
	if ok && now.Before(c.exp) {
		return c.p, nil
	}
	p, err := s.probe(ctx, token)
	if err != nil {
		return principal{}, err
	}
	s.sess.mu.Lock()
	if len(s.sess.cache) > 10000 {
		clear(s.sess.cache)
	}
	s.sess.cache[key] = cached{p: p, exp: now.Add(s.sess.ttl)}
	s.sess.mu.Unlock()
	return p, nil
}

func (s *Server) probe(ctx context.Context, token string) (principal, error) {
	a := s.api(token)
	ids := s.opts.Customers.IDs()
	if len(ids) == 0 {
		return principal{}, errors.New("no customers configured")
	}
	var m struct{}
	err := a.getJSON(ctx, s.opts.ProxyURL, "/v1/shadow/mismatches", url.Values{"customer": {ids[0]}}, &m)
	var ae *query.APIError
	switch {
	case err == nil:
		return principal{Admin: true}, nil
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return principal{}, errBadToken
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		// A read token: find its customer below.
	case errors.As(err, &ae) && ae.Status >= 500:
		// The evidence store failed after the token was accepted as admin.
		return principal{Admin: true}, nil
	case errors.Is(err, ErrNotAvailable) && strings.HasSuffix(err.Error(), "connection refused"):
		return principal{}, fmt.Errorf("proxy %s: %w", s.opts.ProxyURL, err)
	}
	to := time.Now().UTC().Truncate(5 * time.Minute)
	readable := []string{}
	for _, id := range ids {
		_, _, err := a.query(ctx, s.opts.ProxyURL, &query.Query{Customer: id, Metrics: []string{"pageviews"}, From: to.Add(-5 * time.Minute), To: to, Interval: "total"})
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			return principal{}, errBadToken
		}
		if errors.Is(err, ErrForbidden) {
			continue
		}
		if err != nil && !errors.As(err, &ae) {
			return principal{}, fmt.Errorf("proxy: %w", err)
		}
		readable = append(readable, id)
	}
	switch {
	case len(readable) == 0:
		return principal{}, errBadToken
	case len(readable) > 1 && len(readable) == len(ids):
		// An admin token on a proxy without the evidence routes.
		return principal{Admin: true}, nil
	}
	return principal{Customer: readable[0]}, nil
}

type ctxKey struct{}

type session struct {
	token string
	p     principal
}

func sessionFrom(ctx context.Context) session {
	s, _ := ctx.Value(ctxKey{}).(session)
	return s
}

// requireSession sends a request without a valid session cookie to the
// sign-in page (htmx requests get HX-Redirect) and, with admin, refuses
// customer tokens.
func (s *Server) requireSession(admin bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil || c.Value == "" {
			s.toSignIn(w, r, "")
			return
		}
		p, err := s.resolve(r.Context(), c.Value)
		if errors.Is(err, errBadToken) {
			s.toSignIn(w, r, "the token was refused by the proxy: sign in again")
			return
		}
		if err != nil {
			s.log.Warn("resolve session", "err", err)
			s.renderError(w, r, http.StatusBadGateway, "The routing proxy did not answer: "+err.Error())
			return
		}
		if admin && !p.Admin {
			s.m.forbidden.Inc()
			s.renderError(w, r, http.StatusForbidden, "The operator console needs an admin token.")
			return
		}
		if cust := r.PathValue("customer"); cust != "" && !p.canRead(cust) {
			s.m.forbidden.Inc()
			s.renderError(w, r, http.StatusForbidden, "This token does not read "+cust+".")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, session{token: c.Value, p: p})))
	})
}

func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request, msg string) {
	u := "/signin"
	if msg != "" {
		u += "?msg=" + url.QueryEscape(msg)
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", u)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", map[string]any{"Title": "Sign in", "Msg": r.URL.Query().Get("msg")})
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		s.render(w, r, http.StatusBadRequest, "signin", map[string]any{"Title": "Sign in", "Msg": "Paste a token (bin/brooks token new)."})
		return
	}
	p, err := s.resolve(r.Context(), token)
	if err != nil {
		status, msg := http.StatusBadGateway, "The routing proxy did not answer: "+err.Error()
		if errors.Is(err, errBadToken) {
			status, msg = http.StatusUnauthorized, "The proxy refused this token."
		}
		s.render(w, r, status, "signin", map[string]any{"Title": "Sign in", "Msg": msg})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true,
		Secure: s.opts.SecureCookie, SameSite: http.SameSiteStrictMode, MaxAge: int(s.opts.SessionMaxAge / time.Second)})
	http.Redirect(w, r, home(p), http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func home(p principal) string {
	if p.Admin {
		return "/console"
	}
	return "/c/" + url.PathEscape(p.Customer)
}
