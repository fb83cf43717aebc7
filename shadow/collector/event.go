package collector

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/brooksdata/brooks/pixel"
)

// Registry tells known customers; *pixel.Customers satisfies it.
type Registry interface {
	Get(id string) (*pixel.Customer, error)
}

// BuildEvent validates one event's tracker parameters and turns them into
// the record every system consumes. receivedAt is stamped once per request;
// nuid is the collector's network user id cookie (may be empty). An event
// without an eid gets a fresh one.
func BuildEvent(p map[string]string, receivedAt time.Time, nuid, userAgent string, reg Registry) (pixel.Event, *Rejection) {
	var e pixel.Event
	if len(p) > MaxFieldsPerEvent {
		return e, reject(400, ReasonBadField, "%d fields in one event; at most %d", len(p), MaxFieldsPerEvent)
	}
	size := 0
	for k, v := range p {
		size += encodedLen(k) + encodedLen(v) + 2
		if len(v) > MaxFieldBytes {
			return e, reject(400, ReasonFieldTooLong, "field %q is %d bytes; at most %d", k, len(v), MaxFieldBytes)
		}
		if !utf8.ValidString(v) || !utf8.ValidString(k) {
			return e, reject(400, ReasonBadField, "field %q is not valid UTF-8", k)
		}
	}
	aid := strings.TrimSpace(p["aid"])
	if aid == "" {
		return e, reject(400, ReasonMissingAID, "event has no aid (customer app id)")
	}
	if len(aid) > maxCustomerIDBytes {
		return e, reject(400, ReasonBadField, "aid is longer than %d bytes", maxCustomerIDBytes)
	}
	typ := strings.TrimSpace(p["e"])
	if typ == "" {
		return e, reject(400, ReasonMissingEvent, "event has no e (event type: pv, pp, se, ...)")
	}
	if _, err := reg.Get(aid); err != nil {
		return e, reject(400, ReasonUnknownCustomer, "aid %q is not a known customer", aid)
	}
	eid := strings.TrimSpace(p["eid"])
	if eid == "" {
		eid = uuid.NewString()
	} else if len(eid) > maxEIDBytes || strings.ContainsAny(eid, " \t\r\n") {
		return e, reject(400, ReasonBadField, "eid %q is not an event id (no spaces, at most %d bytes)", eid, maxEIDBytes)
	}
	vid := 0
	if s := p["vid"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return e, reject(400, ReasonBadField, "vid %q is not a visit index (a positive integer)", s)
		}
		vid = n
	}
	ua := p["ua"]
	if ua == "" {
		ua = userAgent
		size += encodedLen(ua)
	}
	if size > MaxEventBytes {
		return e, reject(400, ReasonEventTooLarge, "event encodes to up to %d bytes; at most %d", size, MaxEventBytes)
	}
	if p["nuid"] != "" {
		nuid = p["nuid"]
	}
	e = pixel.Event{
		EID:        eid,
		Customer:   aid,
		Type:       typ,
		ReceivedAt: receivedAt.UTC(),
		URL:        p["url"],
		Referrer:   p["refr"],
		DUID:       p["duid"],
		NUID:       nuid,
		VisitIndex: vid,
		SessionID:  p["sid"],
		DeviceTime: p["dtm"],
		SentTime:   p["stm"],
		UserAgent:  ua,
		SECategory: p["se_ca"],
		SEAction:   p["se_ac"],
		SELabel:    p["se_la"],
		SEProperty: p["se_pr"],
		SEValue:    p["se_va"],
		Raw:        extraFields(p),
	}
	return e, nil
}

// mappedFields are the parameters Event holds in its own fields.
var mappedFields = map[string]bool{
	"aid": true, "e": true, "eid": true, "url": true, "refr": true, "duid": true, "nuid": true,
	"vid": true, "sid": true, "dtm": true, "stm": true, "ua": true,
	"se_ca": true, "se_ac": true, "se_la": true, "se_pr": true, "se_va": true,
}

// extraFields keeps the parameters Event has no field for, so the archive
// holds everything the tracker sent.
func extraFields(p map[string]string) map[string]string {
	var out map[string]string
	for k, v := range p {
		if mappedFields[k] {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(p))
		}
		out[k] = v
	}
	return out
}

// encodedLen bounds the length of s as a JSON string in the record:
// encoding/json writes <, > and & and control characters as \u00XX,
// escapes " and \, and U+2028/U+2029 (3 bytes) as \u2028.
func encodedLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 6
		case c == '"' || c == '\\':
			n += 2
		case c >= 0x80:
			n += 2
		default:
			n++
		}
	}
	return n
}
