package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClassify checks the one mapping from errors to status and code.
func TestClassify(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&InvalidError{Field: "metrics", Message: "x"}, 400, CodeInvalid},
		{fmt.Errorf("decode: %w", &InvalidError{Field: "body", Message: "x"}), 400, CodeInvalid},
		{&UnknownCustomerError{Customer: "x"}, 400, CodeUnknownCustomer},
		{&MethodError{Method: "GET", Path: PathQuery, Allow: "POST"}, 405, CodeBadRequest},
		{&UnsupportedError{System: "legacy", Message: "metric x"}, 422, CodeUnsupported},
		{&UnavailableError{Store: "redis", Err: errors.New("refused")}, 503, CodeUnavailable},
		{fmt.Errorf("search: %w", context.DeadlineExceeded), 503, CodeUnavailable},
		{context.Canceled, StatusClientClosed, CodeCanceled},
		{errors.New("nil map"), 500, CodeInternal},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T", tt.err), func(t *testing.T) {
			status, code := Classify(tt.err)
			if status != tt.status || code != tt.code {
				t.Errorf("Classify(%v) = %d %s, want %d %s", tt.err, status, code, tt.status, tt.code)
			}
		})
	}
}

// TestHandler checks the handler's own answers before and after the
// Answerer.
func TestHandler(t *testing.T) {
	const valid = `{"customer":"acme.example","metrics":["pageviews"],"from":"2026-11-25T00:00:00Z","to":"2026-11-26T00:00:00Z","interval":"1d"}`
	var rejected []string
	h, err := NewHandler(AnswerFunc(func(_ context.Context, q *Query) (*Answer, error) {
		if q.Interval == "total" {
			return nil, &UnavailableError{Store: "elasticsearch", Err: errors.New("503")}
		}
		return &Answer{ServedBy: "test"}, nil
	}), HandlerOptions{System: "test", Customers: KnownFunc(func(id string) bool { return id == "acme.example" || id == "other.example" }),
		Rejected: func(code string) { rejected = append(rejected, code) }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, body string
		status             int
		code, msg          string
	}{
		{"answer", "POST", valid, 200, "", ""},
		{"wrong method", "GET", "", 405, CodeBadRequest, "GET /v1/query: use POST"},
		{"invalid", "POST", `{"customer":"acme.example"}`, 400, CodeInvalid, "metrics"},
		{"unknown customer", "POST", strings.Replace(valid, "acme.example", "nope.example", 1), 400, CodeUnknownCustomer, `customer "nope.example" is not known to test`},
		{"store down", "POST", strings.Replace(valid, `"1d"`, `"total"`, 1), 503, CodeUnavailable, "elasticsearch did not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, PathQuery, strings.NewReader(tt.body)))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.code == "" {
				return
			}
			var eb ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code != tt.code || !strings.Contains(eb.Error.Message, tt.msg) {
				t.Errorf("body %s: want code %s and a message containing %q (%v)", w.Body, tt.code, tt.msg, err)
			}
			if strings.Contains(eb.Error.Message, "other.example") {
				t.Errorf("message %q names another customer", eb.Error.Message)
			}
			if tt.method == "GET" && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("405 without Allow: POST")
			}
		})
	}
	if got := strings.Join(rejected, ","); got != "bad_request,invalid_query,unknown_customer,unavailable" {
		t.Errorf("rejections counted %s", got)
	}
}
