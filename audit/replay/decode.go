package replay

import (
	"errors"
	"fmt"

	"github.com/goccy/go-json"

	"github.com/brooksdata/brooks/pixel"
)

// leanEvent decodes a record without its map of raw tracker parameters:
// the outer Raw field shadows pixel.Event's, and an empty struct skips the
// object instead of building a map (a third of the decoding cost). The
// metrics and dimensions of rollup.DefaultRegistry never read Raw.
type leanEvent struct {
	pixel.Event
	Raw struct{} `json:"raw,omitempty"`
}

var errIncomplete = errors.New("decode pixel: missing eid, aid, e or rt")

// decodeEvent decodes a record as pixel.Unmarshal does, with the same
// checks; Raw is left nil unless full is set.
func decodeEvent(b []byte, full bool) (pixel.Event, error) {
	if full {
		return pixel.Unmarshal(b)
	}
	var l leanEvent
	if err := json.Unmarshal(b, &l); err != nil {
		return l.Event, fmt.Errorf("decode pixel: %w", err)
	}
	e := l.Event
	if e.EID == "" || e.Customer == "" || e.Type == "" || e.ReceivedAt.IsZero() {
		return e, errIncomplete
	}
	return e, nil
}
