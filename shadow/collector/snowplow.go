package collector

import (
	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"net/url"
	"strconv"
	"strings"
)

// Paths of the Snowplow tracker protocol v2.
const (
	PathPixel = "/i"
	PathPost  = "/com.snowplowanalytics.snowplow/tp2"
)

// payloadSchema is the self-describing envelope schema trackers send; any
// version 1-0-x of payload_data is accepted.
const payloadSchemaPrefix = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-"

// Limits on what one request may carry.
const (
	MaxBodyBytes       = 1 << 20
	MaxEventsPerPost   = 1000
	MaxFieldBytes      = 8 << 10
	MaxFieldsPerEvent  = 200
	maxEIDBytes        = 128
	maxCustomerIDBytes = 128
)

// MaxEventBytes bounds the JSON that an event's parameters (and a
// User-Agent header taken as ua) can encode to in its Kafka record, so every
// accepted event fits in a record batch the broker takes (message.max.bytes,
// 1 MB by default). encoding/json writes <, > and & and control characters
// as six bytes each, so without it a request within every other limit could
// make a record Kafka refuses: a 503 that the tracker retries forever.
const MaxEventBytes = 256 << 10

// Rejection is a 4xx: the reason label on /metrics and a message for the
// sender.
type Rejection struct {
	Status  int
	Reason  string
	Message string
}

func (r *Rejection) Error() string { return r.Reason + ": " + r.Message }

func reject(status int, reason, format string, args ...any) *Rejection {
	return &Rejection{Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Reasons a request is rejected, the label values of
// brooks_collector_rejected_total.
const (
	ReasonBadJSON          = "bad_json"
	ReasonBadEnvelope      = "malformed_envelope"
	ReasonBadQuery         = "bad_query_string"
	ReasonMissingAID       = "missing_aid"
	ReasonMissingEvent     = "missing_e"
	ReasonUnknownCustomer  = "unknown_customer"
	ReasonBodyTooLarge     = "body_too_large"
	ReasonTooManyEvents    = "too_many_events"
	ReasonFieldTooLong     = "field_too_long"
	ReasonEventTooLarge    = "event_too_large"
	ReasonBadField         = "bad_field"
	ReasonMethodNotAllowed = "method_not_allowed"
	ReasonBadContentType   = "bad_content_type"
)

// ParseQuery reads the parameters of a GET /i pixel.
func ParseQuery(rawQuery string) (map[string]string, error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, reject(400, ReasonBadQuery, "query string does not parse: %v", err)
	}
	p := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	return p, nil
}

// envelope is the self-describing payload_data JSON of POST tp2.
type envelope struct {
	Schema string            `json:"schema"`
	Data   []json.RawMessage `json:"data"`
}

// ParseEnvelope reads the events of a POST tp2 body. Values may be JSON
// strings, numbers or booleans (trackers differ); they are kept as strings.
func ParseEnvelope(body []byte) ([]map[string]string, error) {
	// Fast path: trackers send every value as a string.
	var fast struct {
		Schema string              `json:"schema"`
		Data   []map[string]string `json:"data"`
	}
	if json.Unmarshal(body, &fast) == nil && strings.HasPrefix(fast.Schema, payloadSchemaPrefix) && len(fast.Data) > 0 && len(fast.Data) <= MaxEventsPerPost && !hasNil(fast.Data) {
		return fast.Data, nil
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, reject(400, ReasonBadJSON, "body is not a JSON payload_data envelope: %v", err)
	}
	if !strings.HasPrefix(env.Schema, payloadSchemaPrefix) {
		return nil, reject(400, ReasonBadEnvelope, "schema %q is not %s*", env.Schema, payloadSchemaPrefix)
	}
	if len(env.Data) == 0 {
		return nil, reject(400, ReasonBadEnvelope, "envelope has no events in \"data\"")
	}
	if len(env.Data) > MaxEventsPerPost {
		return nil, reject(413, ReasonTooManyEvents, "%d events in one request; at most %d", len(env.Data), MaxEventsPerPost)
	}
	out := make([]map[string]string, 0, len(env.Data))
	for i, raw := range env.Data {
		p, err := decodeEventFields(raw)
		if err != nil {
			return nil, reject(400, err.reason, "data[%d]%s", i, err.msg)
		}
		out = append(out, p)
	}
	return out, nil
}

type fieldError struct{ reason, msg string }

// decodeEventFields reads one payload item. Trackers send string values, the
// fast path; numbers (kept exactly as written) and booleans are accepted and
// turned into strings.
func decodeEventFields(raw json.RawMessage) (map[string]string, *fieldError) {
	var p map[string]string
	if err := json.Unmarshal(raw, &p); err == nil && p != nil {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, &fieldError{ReasonBadEnvelope, " is not a JSON object of event fields"}
	}
	p = make(map[string]string, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			p[k] = x
		case json.Number:
			p[k] = x.String()
		case bool:
			p[k] = strconv.FormatBool(x)
		case nil:
		default:
			return nil, &fieldError{ReasonBadField, "." + k + " must be a string, number or boolean"}
		}
	}
	return p, nil
}

func hasNil(events []map[string]string) bool {
	for _, e := range events {
		if e == nil {
			return true
		}
	}
	return false
}
