package esindex

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/brooksdata/brooks/rollup"
)

// Filter selects documents for Scan; zero fields select everything (of
// the Tuples family).
type Filter struct {
	Family   Family
	Customer string
	From, To time.Time // bucket range [From, To)
}

func (f Filter) query() string {
	var must []string
	if f.Customer != "" {
		b, _ := json.Marshal(f.Customer)
		must = append(must, fmt.Sprintf(`{"term":{%q:%s}}`, FieldCustomer, b))
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		r := map[string]string{}
		if !f.From.IsZero() {
			r["gte"] = f.From.UTC().Format(time.RFC3339)
		}
		if !f.To.IsZero() {
			r["lt"] = f.To.UTC().Format(time.RFC3339)
		}
		b, _ := json.Marshal(map[string]any{"range": map[string]any{FieldBucket: r}})
		must = append(must, string(b))
	}
	return `{"query":{"bool":{"filter":[` + strings.Join(must, ",") + `]}}}`
}

// Scan reads every document of g matching f, decoded with reg, and calls
// fn for each, in no particular order. It sees what is searchable
// (refreshed); the audit and tests use it to compare stored rollups with
// ground truth.
func (c *Client) Scan(ctx context.Context, reg *rollup.Registry, g rollup.Granularity, f Filter, fn func(*rollup.Cell) error) error {
	pattern := c.Names.Of(f.Family).Pattern(g)
	res, err := esapi.SearchRequest{
		Index: []string{pattern}, Body: strings.NewReader(f.query()),
		Scroll: time.Minute, Size: esapi.IntPtr(2000), AllowNoIndices: esapi.BoolPtr(true), IgnoreUnavailable: esapi.BoolPtr(true),
	}.Do(ctx, c.ES)
	if err != nil {
		return fmt.Errorf("scan %s: %w", pattern, err)
	}
	var scrollID string
	defer func() {
		if scrollID != "" {
			if r, err := (esapi.ClearScrollRequest{ScrollID: []string{scrollID}}).Do(context.Background(), c.ES); err == nil {
				r.Body.Close()
			}
		}
	}()
	for {
		var page struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []struct {
					Source json.RawMessage `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if res.IsError() {
			err := statusError(res, "scan")
			res.Body.Close()
			return err
		}
		err := json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("scan: decode: %w", err)
		}
		scrollID = page.ScrollID
		if len(page.Hits.Hits) == 0 {
			return nil
		}
		for _, h := range page.Hits.Hits {
			cell, err := DecodeDoc(reg, h.Source)
			if err != nil {
				return err
			}
			if err := fn(cell); err != nil {
				return err
			}
		}
		res, err = esapi.ScrollRequest{ScrollID: scrollID, Scroll: time.Minute}.Do(ctx, c.ES)
		if err != nil {
			return fmt.Errorf("scan: scroll: %w", err)
		}
	}
}
