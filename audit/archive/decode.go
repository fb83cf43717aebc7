package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// head is the part of a pixel.Event the archiver needs: where the record
// goes (customer, hour) and its ledger id. Decoding only these fields is
// several times cheaper than a whole pixel.Event (no map of raw
// parameters); the record itself is archived byte for byte.
type head struct {
	EID        string    `json:"eid"`
	Customer   string    `json:"aid"`
	Type       string    `json:"e"`
	ReceivedAt time.Time `json:"rt"`
}

var errIncomplete = errors.New("decode pixel: missing eid, aid, e or rt")

// decodeHead reads a record's head, with pixel.Unmarshal's checks.
func decodeHead(b []byte) (head, error) {
	var h head
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("decode pixel: %w", err)
	}
	if h.EID == "" || h.Customer == "" || h.Type == "" || h.ReceivedAt.IsZero() {
		return h, errIncomplete
	}
	return h, nil
}
