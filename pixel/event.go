// Package pixel is the raw pixel event model shared by every stage of
// Brooks: the collector produces Events to the Kafka raw-pixel topic, and
// the legacy ingester, the nextgen stream engine, the archiver and the audit
// all decode the same record. It also holds the derivations both systems
// must agree on: URL normalisation, referrer classification, campaign and
// device, and the customer registry.
package pixel

import (
	"fmt"
	json "github.com/goccy/go-json"
	"time"
)

// Event types of the Snowplow tracker protocol that Brooks counts.
const (
	TypePageView   = "pv"
	TypePagePing   = "pp"
	TypeStructured = "se"
)

// Event is one accepted pixel as it travels through Kafka (JSON value, key =
// customer id). ReceivedAt, stamped once by the collector, is the event time
// every system buckets by.
type Event struct {
	EID        string    `json:"eid"`
	Customer   string    `json:"aid"`
	Type       string    `json:"e"`
	ReceivedAt time.Time `json:"rt"`

	URL        string `json:"url,omitempty"`
	Referrer   string `json:"refr,omitempty"`
	DUID       string `json:"duid,omitempty"`
	NUID       string `json:"nuid,omitempty"`
	VisitIndex int    `json:"vid,omitempty"`
	SessionID  string `json:"sid,omitempty"`
	DeviceTime string `json:"dtm,omitempty"`
	SentTime   string `json:"stm,omitempty"`
	UserAgent  string `json:"ua,omitempty"`

	SECategory string `json:"se_ca,omitempty"`
	SEAction   string `json:"se_ac,omitempty"`
	SELabel    string `json:"se_la,omitempty"`
	SEProperty string `json:"se_pr,omitempty"`
	SEValue    string `json:"se_va,omitempty"`

	// Raw keeps every tracker parameter as received, for the archive.
	Raw map[string]string `json:"raw,omitempty"`
}

// Visitor is the visitor id: the domain user id, or the network user id
// when the tracker sent none.
func (e *Event) Visitor() string {
	if e.DUID != "" {
		return e.DUID
	}
	return e.NUID
}

// IsVideoStart reports whether e is a structured video-start event.
func (e *Event) IsVideoStart() bool {
	return e.Type == TypeStructured && e.SECategory == "video" && e.SEAction == "start"
}

// Hour is the UTC hour the event belongs to, the ledger's unit.
func (e *Event) Hour() time.Time { return e.ReceivedAt.UTC().Truncate(time.Hour) }

// Marshal encodes e as a Kafka record value.
func (e *Event) Marshal() ([]byte, error) {
	// Raw's keys need no order; skipping the sort is a fifth of the cost.
	return json.MarshalWithOption(e, json.UnorderedMap())
}

// Unmarshal decodes a Kafka record value.
func Unmarshal(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("decode pixel: %w", err)
	}
	if e.EID == "" || e.Customer == "" || e.Type == "" || e.ReceivedAt.IsZero() {
		return e, fmt.Errorf("decode pixel: missing eid, aid, e or rt")
	}
	return e, nil
}
