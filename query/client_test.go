package query

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestClientToken checks the client sends its bearer token, and none
// when it has none; an error answer comes back as *APIError.
func TestClientToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathQuery || r.Header.Get("Authorization") != "Bearer s3cret" {
			WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "no token")
			return
		}
		WriteAnswer(w, &Answer{ServedBy: "test"})
	}))
	defer srv.Close()
	q := &Query{Customer: "acme.example"}
	if a, err := NewClient(srv.URL, WithToken("s3cret")).Do(context.Background(), q); err != nil || a.ServedBy != "test" {
		t.Fatalf("with token: %v, %v", a, err)
	}
	_, err := NewClient(srv.URL).Do(context.Background(), q)
	var api *APIError
	if !errors.As(err, &api) || api.Status != 401 || api.Code != CodeUnauthorized {
		t.Fatalf("without token: %v, want a 401 unauthorized APIError", err)
	}
}
