package dashboards_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/brooksdata/brooks/dashboards"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// TestProxyDown: with nothing listening at the proxy URL, sign-in says the
// proxy did not answer (502) instead of taking the token, and the assets
// and probes still serve.
func TestProxyDown(t *testing.T) {
	refused := refusedURL(t)
	o := dashboards.DefaultOptions()
	o.ProxyURL, o.Customers = refused, testenv.Customers(t)
	d, err := dashboards.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(d.Handler())
	defer ts.Close()
	c := client(t)
	code, h, body := post(t, c, ts.URL+"/signin", url.Values{"token": {"brk_whatever"}})
	if code != http.StatusBadGateway || !strings.Contains(body, "connection refused") || h.Get("Set-Cookie") != "" {
		t.Errorf("sign-in with the proxy down: %d, cookie %q: %s", code, h.Get("Set-Cookie"), body)
	}
	if code, _, _ := get(t, c, ts.URL+"/healthz", false); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if code, h, _ := get(t, c, ts.URL+"/assets/app.css", false); code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %s (run make build first)", code, h.Get("Content-Type"))
	}
	if _, err := dashboards.New(dashboards.Options{Customers: o.Customers}); err == nil {
		t.Error("New without a proxy URL: no error")
	}
	if _, err := dashboards.New(dashboards.Options{ProxyURL: refused}); err == nil {
		t.Error("New without customers: no error")
	}
}
