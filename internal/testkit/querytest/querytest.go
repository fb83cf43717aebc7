// Package querytest holds the query-API contract checks that every system
// serving the query language (legacy, nextgen, and whatever routes between
// them) must pass against its real HTTP handler.
package querytest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/brooksdata/brooks/pixel"
	"github.com/brooksdata/brooks/query"
)

// UnknownCustomer posts a query for a customer nobody knows to baseURL's
// /v1/query and checks the answer every system gives: 400, error code
// unknown_customer, a message naming the asked customer and none of the
// known ones.
func UnknownCustomer(t *testing.T, baseURL string, known *pixel.Customers) {
	t.Helper()
	const nobody = "nobody-knows.example"
	body := `{"customer":"` + nobody + `","metrics":["pageviews"],"from":"2026-11-25T00:00:00Z","to":"2026-11-26T00:00:00Z","interval":"1d"}`
	resp, err := http.Post(baseURL+query.PathQuery, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown customer: status %d, want 400; body %s", resp.StatusCode, b)
	}
	var eb query.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("unknown customer: body %s is not an error body: %v", b, err)
	}
	if eb.Error.Code != query.CodeUnknownCustomer {
		t.Errorf("unknown customer: code %q, want %q", eb.Error.Code, query.CodeUnknownCustomer)
	}
	if !strings.Contains(eb.Error.Message, nobody) {
		t.Errorf("unknown customer: message %q does not name %s", eb.Error.Message, nobody)
	}
	for _, id := range known.IDs() {
		if strings.Contains(eb.Error.Message, id) {
			t.Errorf("unknown customer: message %q names another customer, %s", eb.Error.Message, id)
		}
	}
}

// Unavailable reports whether err is a query API's 503: the system is up
// but cannot answer yet (for example an Elasticsearch index created a
// moment ago whose shards are not allocated: no_shard_available). Tests
// waiting for a system to catch up retry it instead of failing.
func Unavailable(err error) bool {
	var ae *query.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable
}
