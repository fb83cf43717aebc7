package query

import (
	"context"
	"net/http"
	"testing"

	"github.com/brooksdata/brooks/internal/auth"
)

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name      string
		ctx       context.Context
		customer  string
		forbidden bool
	}{
		{"no principal: served outside a runner", context.Background(), "acme.example", false},
		{"loopback", auth.NewContext(context.Background(), auth.Loopback), "acme.example", false},
		{"admin", auth.NewContext(context.Background(), auth.Principal{ID: "a", Admin: true}), "globex.example", false},
		{"own customer", auth.NewContext(context.Background(), auth.Principal{ID: "c", Customer: "acme.example"}), "acme.example", false},
		{"other customer", auth.NewContext(context.Background(), auth.Principal{ID: "c", Customer: "acme.example"}), "globex.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.ctx, tt.customer)
			if (err != nil) != tt.forbidden {
				t.Fatalf("Authorize = %v, want forbidden %v", err, tt.forbidden)
			}
			if err != nil {
				if status, code := Classify(err); status != http.StatusForbidden || code != CodeForbidden {
					t.Errorf("Classify = %d %s, want 403 %s", status, code, CodeForbidden)
				}
			}
		})
	}
	// internal/auth writes the runner's 401 and 403 with the same codes.
	if auth.CodeUnauthorized != CodeUnauthorized || auth.CodeForbidden != CodeForbidden {
		t.Errorf("auth codes %q %q differ from the query API's", auth.CodeUnauthorized, auth.CodeForbidden)
	}
}
