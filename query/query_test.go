package query

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validQuery() Query {
	return Query{
		Customer: "acme.example",
		Metrics:  []string{Pageviews, Visitors},
		GroupBy:  []string{DimURL},
		Filters:  map[string][]string{DimReferrerCategory: {"social", "search"}},
		From:     time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		To:       time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		Interval: Interval5m,
		OrderBy:  "-pageviews",
		Limit:    10,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(q *Query)
		field  string // "" = valid
	}{
		{"valid", func(q *Query) {}, ""},
		{"total any range", func(q *Query) { q.Interval = IntervalTotal; q.From = q.From.Add(time.Minute) }, ""},
		{"no customer", func(q *Query) { q.Customer = " " }, "customer"},
		{"no metrics", func(q *Query) { q.Metrics = nil }, "metrics"},
		{"unknown metric", func(q *Query) { q.Metrics = []string{"clicks"} }, "metrics"},
		{"unknown group", func(q *Query) { q.GroupBy = []string{"country"} }, "group_by"},
		{"group twice", func(q *Query) { q.GroupBy = []string{"url", "url"} }, "group_by"},
		{"unknown filter", func(q *Query) { q.Filters = map[string][]string{"country": {"fr"}} }, "filters"},
		{"empty filter", func(q *Query) { q.Filters = map[string][]string{"url": {}} }, "filters"},
		{"no from", func(q *Query) { q.From = time.Time{} }, "from"},
		{"no to", func(q *Query) { q.To = time.Time{} }, "to"},
		{"to before from", func(q *Query) { q.To = q.From.Add(-5 * time.Minute) }, "to"},
		{"unaligned from", func(q *Query) { q.From = q.From.Add(time.Minute) }, "from"},
		{"unaligned day", func(q *Query) { q.Interval = Interval1d; q.To = q.To.Add(5 * time.Minute) }, "to"},
		{"no interval", func(q *Query) { q.Interval = "" }, "interval"},
		{"bad interval", func(q *Query) { q.Interval = "1h" }, "interval"},
		{"too many buckets", func(q *Query) { q.To = q.From.Add(400 * 24 * time.Hour) }, "interval"},
		{"order other metric", func(q *Query) { q.OrderBy = "engaged_seconds" }, "order_by"},
		{"negative limit", func(q *Query) { q.Limit = -1 }, "limit"},
		{"limit without order", func(q *Query) { q.OrderBy = "" }, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := validQuery()
			tt.change(&q)
			err := q.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Fatalf("Validate() = %v, want an InvalidError on %q", err, tt.field)
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	q := validQuery()
	q.Metrics = []string{Pageviews, Pageviews, Visitors}
	q.From = q.From.In(time.FixedZone("x", 3600))
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(q.Metrics, []string{Pageviews, Visitors}) || q.From.Location() != time.UTC {
		t.Errorf("not normalised: %v %v", q.Metrics, q.From)
	}
	if !cmp.Equal(q.Filters[DimReferrerCategory], []string{"search", "social"}) {
		t.Errorf("filter values not sorted: %v", q.Filters)
	}
}

func TestAnswerJSONRoundTrip(t *testing.T) {
	in := `{"served_by":"nextgen","series":[{"key":{"url":"https://acme.example/post/1"},"points":[{"t":"2026-11-25T10:05:00Z","pageviews":12,"visitors":9}]}],"approximate":{"visitors":{"relative_std_error":0.0081}}}`
	var a Answer
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	p := a.Series[0].Points[0]
	if p.Values[Pageviews] != 12 || p.Values[Visitors] != 9 || !p.T.Equal(time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)) {
		t.Errorf("point = %+v", p)
	}
	out, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip:\n got %s\nwant %s", out, in)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, body, field string }{
		{"empty", "", "body"},
		{"not json", "{", "body"},
		{"syntax", `{"customer": x}`, "body"},
		{"unknown field", `{"customer":"a","metricz":["pageviews"]}`, "body"},
		{"wrong type", `{"customer":"a","limit":"ten"}`, "limit"},
		{"trailing", `{"customer":"a","metrics":["pageviews"],"from":"2026-11-25T00:00:00Z","to":"2026-11-26T00:00:00Z","interval":"1d"} {}`, "body"},
		{"invalid", `{"customer":"a","metrics":["pageviews"],"interval":"1d"}`, "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.body))
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.field {
				t.Errorf("Decode = %v, want InvalidError on %q", err, tt.field)
			}
		})
	}
}

// TestClient checks the client against handlers built from this package's
// own writers, the way both systems' APIs answer.
func TestClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := Decode(r.Body)
		if err != nil {
			WriteQueryError(w, err)
			return
		}
		if q.Metrics[0] == EngagedSeconds {
			WriteQueryError(w, &UnsupportedError{System: "legacy", Message: "metric engaged_seconds"})
			return
		}
		WriteAnswer(w, &Answer{ServedBy: "legacy", Query: q})
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	q := validQuery()
	a, err := c.Do(context.Background(), &q)
	if err != nil || a.ServedBy != "legacy" || a.Query.Customer != q.Customer {
		t.Fatalf("Do = %+v, %v", a, err)
	}
	q.Metrics = []string{EngagedSeconds}
	q.OrderBy = "engaged_seconds"
	_, err = c.Do(context.Background(), &q)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 422 || ae.Code != CodeUnsupported || !strings.Contains(ae.Message, "engaged_seconds") {
		t.Errorf("unsupported: %v", err)
	}
	q.Customer = ""
	_, err = c.Do(context.Background(), &q)
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != CodeInvalid {
		t.Errorf("invalid: %v", err)
	}
}
