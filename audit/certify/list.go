package certify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Summary is a stored certificate without its archive and raw-store
// detail: what a list of audit runs shows.
type Summary struct {
	Customer string         `json:"customer"`
	Day      string         `json:"day"`
	IssuedAt time.Time      `json:"issued_at"`
	Verdict  string         `json:"verdict"`
	Clean    bool           `json:"clean"`
	Digest   string         `json:"digest"`
	Counts   map[string]int `json:"counts"`
	Compared int            `json:"compared"`
	Events   int64          `json:"events"`
	// Valid says whether the stored body still matches its digest.
	Valid bool `json:"valid"`
}

// List returns customer's certificates, newest day first, at most limit
// of them (0: all).
func (st *Store) List(ctx context.Context, customer string, limit int) ([]Summary, error) {
	q := fmt.Sprintf(`SELECT body FROM %s.%s WHERE customer = ?`, st.keyspace, Table)
	args := []any{customer}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	it := st.s.Query(q, args...).WithContext(ctx).Iter()
	var out []Summary
	var body string
	for it.Scan(&body) {
		var c Certificate
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("decode certificate of %s: %w", customer, err)
		}
		out = append(out, Summary{Customer: c.Customer, Day: c.Day, IssuedAt: c.IssuedAt, Verdict: c.Verdict, Clean: c.Clean,
			Digest: c.Digest, Counts: c.Replay.Counts, Compared: c.Replay.Compared, Events: c.Replay.Events, Valid: c.Verify() == nil})
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("list certificates of %s: %w", customer, err)
	}
	return out, nil
}
