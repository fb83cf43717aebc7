package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/brooksdata/brooks/query"
)

// ErrNotAvailable is returned when an API the dashboards read is not
// there yet: 404 or connection refused. Pages show an empty state naming
// the component instead of failing.
var ErrNotAvailable = errors.New("not available yet")

// notAvailable is an API that is not there: what was asked and why.
type notAvailable struct{ what, why string }

func (e *notAvailable) Error() string        { return e.what + ": " + e.why }
func (e *notAvailable) Is(target error) bool { return target == ErrNotAvailable }

// ErrForbidden is a 401 or 403 of an upstream API: the token may not read
// what was asked.
var ErrForbidden = errors.New("forbidden")

// api reads the proxy and admin APIs with one user's bearer token. It is
// the only way the dashboards reach data.
type api struct {
	http  *http.Client
	token string
}

// query sends q to base's POST /v1/query.
func (a api) query(ctx context.Context, base string, q *query.Query) (*query.Answer, http.Header, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return nil, nil, fmt.Errorf("encode query: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+query.PathQuery, strings.NewReader(string(body)))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	var ans query.Answer
	h, err := a.do(req, &ans)
	if err != nil {
		return nil, h, err
	}
	return &ans, h, nil
}

// getJSON GETs base+path?params into out.
func (a api) getJSON(ctx context.Context, base, path string, params url.Values, out any) error {
	u := strings.TrimSuffix(base, "/") + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	_, err = a.do(req, out)
	return err
}

// postJSON POSTs in as JSON to base+path and decodes the answer into out.
func (a api) postJSON(ctx context.Context, base, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+path, strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	_, err = a.do(req, out)
	return err
}

func (a api) do(req *http.Request, out any) (http.Header, error) {
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &notAvailable{req.Method + " " + req.URL.Path, "connection refused"}
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.Header, fmt.Errorf("read %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb query.ErrorBody
		_ = json.Unmarshal(b, &eb)
		apiErr := &query.APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
		switch resp.StatusCode {
		case http.StatusNotFound:
			return resp.Header, &notAvailable{req.Method + " " + req.URL.Path, "404"}
		case http.StatusUnauthorized, http.StatusForbidden:
			return resp.Header, fmt.Errorf("%s %s: %w: %w", req.Method, req.URL.Path, ErrForbidden, apiErr)
		}
		return resp.Header, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, apiErr)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.Header, fmt.Errorf("decode %s: %w", req.URL.Path, err)
	}
	return resp.Header, nil
}

// unsupported reports whether err is the serving system's 422: a metric or
// dimension it does not have (the panel is hidden).
func unsupported(err error) bool {
	var ae *query.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity
}
