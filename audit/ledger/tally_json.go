package ledger

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// UnmarshalJSON reads a tally as Report.WriteJSON writes it (the hash as
// 16 hex digits) or as encoding/json does (the hash as a number), so a
// report read back over HTTP keeps its hashes.
func (t *Tally) UnmarshalJSON(b []byte) error {
	var v struct {
		Count int64           `json:"count"`
		Hash  json.RawMessage `json:"hash"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t.Count, t.Hash = v.Count, 0
	if len(v.Hash) == 0 || string(v.Hash) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(v.Hash, &s); err == nil {
		h, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			return fmt.Errorf("tally hash %q: want hex digits", s)
		}
		t.Hash = h
		return nil
	}
	if err := json.Unmarshal(v.Hash, &t.Hash); err != nil {
		return fmt.Errorf("tally hash %s: want hex digits or a number", v.Hash)
	}
	return nil
}
