// Package collector is Brooks' front door: an HTTP server speaking the
// Snowplow tracker protocol v2 (GET /i pixels and POST tp2 batches), so real
// trackers send to it unchanged. It stamps each event's receive time,
// validates it, and writes it to the Kafka raw-pixel topic (the tee) with
// acks from all in-sync replicas; it answers 2xx only after Kafka has every
// event of the request, 503 with Retry-After when Kafka does not take them,
// and 4xx with a reason for bad input. A request is all or nothing: if one
// event of a batch is invalid, none is written.
package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
)

// Producer writes records durably; *kafka.Writer satisfies it.
type Producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Ledger counts accepted events; *ledger.Accumulator satisfies it.
type Ledger interface {
	Add(customer string, t time.Time, eid string)
}

// Options configure a Collector.
type Options struct {
	Customers Registry
	Producer  Producer
	// Ledger, when set, counts every acknowledged event per customer/hour.
	Ledger Ledger
	// WriteTimeout bounds how long a request waits for Kafka before 503.
	WriteTimeout time.Duration
	// RetryAfter is the Retry-After (seconds) sent with a 503.
	RetryAfter int
	// Now stamps receive times (default time.Now).
	Now func() time.Time
	// Logger logs Kafka failures; nil discards.
	Logger *slog.Logger
	// Registerer, when set, gets the collector's metrics (request counts
	// and durations come from the component runner's middleware).
	Registerer prometheus.Registerer
}

// Collector is the HTTP handler of the tracker protocol.
type Collector struct {
	opts Options
	log  *slog.Logger
	m    *metrics
	mux  *http.ServeMux
}

// New returns a collector; Customers and Producer are required.
func New(opts Options) (*Collector, error) {
	if opts.Customers == nil || opts.Producer == nil {
		return nil, errors.New("collector: customers and producer are required")
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Collector{opts: opts, log: obs.OrDiscard(opts.Logger), m: newMetrics(opts.Registerer), mux: http.NewServeMux()}
	c.mux.HandleFunc(PathPixel, c.pixel)
	c.mux.HandleFunc(PathPost, c.post)
	return c, nil
}

// ServeHTTP routes tracker requests.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// transparent 1x1 GIF.
var pixelGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")

func (c *Collector) pixel(w http.ResponseWriter, r *http.Request) {
	c.cors(w, r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.fail(w, reject(405, ReasonMethodNotAllowed, "%s %s; use GET", r.Method, PathPixel))
		return
	}
	p, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		c.fail(w, err)
		return
	}
	if err := c.accept(w, r, []map[string]string{p}); err != nil {
		c.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.WriteHeader(http.StatusOK)
	w.Write(pixelGIF)
}

func (c *Collector) post(w http.ResponseWriter, r *http.Request) {
	c.cors(w, r)
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		c.fail(w, reject(405, ReasonMethodNotAllowed, "%s %s; use POST", r.Method, PathPost))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			c.fail(w, reject(413, ReasonBodyTooLarge, "body over %d bytes", MaxBodyBytes))
			return
		}
		c.fail(w, reject(400, ReasonBadEnvelope, "read body: %v", err))
		return
	}
	events, err := ParseEnvelope(body)
	if err != nil {
		c.fail(w, err)
		return
	}
	if err := c.accept(w, r, events); err != nil {
		c.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// errUnavailable means Kafka did not acknowledge the events.
type errUnavailable struct{ err error }

func (e errUnavailable) Error() string { return "kafka unavailable: " + e.err.Error() }

// accept validates every event of a request, then writes them all to Kafka
// and waits for the acknowledgement.
func (c *Collector) accept(w http.ResponseWriter, r *http.Request, params []map[string]string) error {
	received := c.opts.Now().UTC()
	nuid := c.networkUserID(w, r)
	msgs := make([]kafka.Message, len(params))
	events := make([]pixel.Event, len(params))
	for i, p := range params {
		e, rej := BuildEvent(p, received, nuid, r.UserAgent(), c.opts.Customers)
		if rej != nil {
			if len(params) > 1 {
				rej.Message = fmt.Sprintf("event %d of %d: %s (no event of this request was accepted)", i+1, len(params), rej.Message)
			}
			return rej
		}
		b, err := e.Marshal()
		if err != nil {
			return reject(400, ReasonBadField, "event %d: %v", i+1, err)
		}
		events[i] = e
		msgs[i] = kafka.Message{Key: []byte(e.Customer), Value: b, Time: received}
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.opts.WriteTimeout)
	defer cancel()
	t0 := time.Now()
	if err := c.opts.Producer.WriteMessages(ctx, msgs...); err != nil {
		return errUnavailable{err}
	}
	c.m.kafkaWrite.Observe(time.Since(t0).Seconds())
	c.m.batchSize.Observe(float64(len(events)))
	for i := range events {
		c.m.accepted.WithLabelValues(events[i].Customer).Inc()
		if c.opts.Ledger != nil {
			c.opts.Ledger.Add(events[i].Customer, events[i].ReceivedAt, events[i].EID)
		}
	}
	return nil
}

// networkUserID reads or sets the collector's "sp" cookie, Snowplow's
// network user id (nuid).
func (c *Collector) networkUserID(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie("sp"); err == nil && ck.Value != "" && len(ck.Value) <= 64 {
		return ck.Value
	}
	id := uuid.NewString()
	ck := &http.Cookie{Name: "sp", Value: id, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	// Browsers send a cookie cross-site only with SameSite=None, and accept
	// SameSite=None only on a Secure cookie, so that needs HTTPS (directly
	// or at a proxy that says so).
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		ck.SameSite, ck.Secure = http.SameSiteNoneMode, true
	}
	http.SetCookie(w, ck)
	return id
}

// cors lets browser trackers on any site post with credentials.
func (c *Collector) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = "*"
	} else {
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Add("Vary", "Origin")
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, SP-Anonymous")
		w.Header().Set("Access-Control-Max-Age", "86400")
	}
}

func (c *Collector) fail(w http.ResponseWriter, err error) {
	var rej *Rejection
	var un errUnavailable
	switch {
	case errors.As(err, &rej):
		c.m.rejected.WithLabelValues(rej.Reason).Inc()
		http.Error(w, rej.Reason+": "+rej.Message, rej.Status)
	case errors.As(err, &un):
		c.m.unavail.Inc()
		c.log.Warn("kafka did not take events; answering 503", "err", un.err)
		w.Header().Set("Retry-After", strconv.Itoa(c.opts.RetryAfter))
		http.Error(w, "unavailable: events not stored, retry later", http.StatusServiceUnavailable)
	default:
		c.log.Error("collector error", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
