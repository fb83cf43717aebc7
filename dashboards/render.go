package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// parseTemplates makes one template set per page: layout.html and
// parts.html (panels, empty states) with the page's own file.
func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"num": formatNum,
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd arguments")
			}
			m := map[string]any{}
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"pathesc": url.PathEscape,
		"ts":      func(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02 15:04 MST") },
		"utc":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	pages, err := fs.Glob(templateFS, "templates/page_*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{"parts": base}
	for _, p := range pages {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(path.Base(p), "page_"), ".html")] = t
	}
	return out, nil
}

// render writes a whole page (layout.html around the page's "content").
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	t, ok := s.tmpl[page]
	if !ok {
		http.Error(w, "no page "+page, http.StatusInternalServerError)
		return
	}
	data["Session"] = sessionFrom(r.Context()).p
	data["SignedIn"] = sessionFrom(r.Context()).token != ""
	s.execute(w, status, t, "layout.html", data)
}

// fragment writes one named template of parts.html (an htmx panel).
func (s *Server) fragment(w http.ResponseWriter, status int, name string, data any) {
	s.execute(w, status, s.tmpl["parts"], name, data)
}

func (s *Server) execute(w http.ResponseWriter, status int, t *template.Template, name string, data any) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		s.log.Error("render", "template", name, "err", err)
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// renderError writes an error page, or an error fragment to htmx.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Header.Get("HX-Request") == "true" {
		s.fragment(w, status, "error", map[string]any{"Msg": msg})
		return
	}
	s.render(w, r, status, "error", map[string]any{"Title": http.StatusText(status), "Msg": msg, "Status": status})
}

// panelError renders an upstream failure inside a panel: the empty state
// of an API that is not there yet, or the error.
func (s *Server) panelError(w http.ResponseWriter, what string, err error) {
	s.m.upstream.WithLabelValues(reason(err)).Inc()
	s.log.Warn("read for panel", "panel", what, "err", err)
	s.fragment(w, http.StatusOK, "error", map[string]any{"Msg": what + ": " + err.Error()})
}

func formatNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v == float64(int64(v)):
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}
