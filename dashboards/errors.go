package dashboards

import (
	"errors"
	"net/http"

	"github.com/brooksdata/brooks/query"
)

// reason labels an upstream failure for brooks_dashboards_upstream_errors_total.
func reason(err error) string {
	var ae *query.APIError
	switch {
	case errors.Is(err, ErrNotAvailable):
		return "not_available"
	case errors.Is(err, ErrForbidden):
		return "forbidden"
	case errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity:
		return "unsupported"
	case errors.As(err, &ae):
		return "status_" + http.StatusText(ae.Status)
	}
	return "network"
}
