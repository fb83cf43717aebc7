package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/query"
	"github.com/brooksdata/brooks/shadow/compare"
	"github.com/brooksdata/brooks/shadow/cutover"
)

// serveQuery is POST /v1/query: authorise, route by state, answer, offer
// the answer for comparison.
func (p *Proxy) serveQuery(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, query.MaxQueryBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, query.CodeBadRequest, "read query: "+err.Error())
		return
	}
	q, err := query.Decode(bytes.NewReader(body))
	if err != nil {
		query.WriteQueryError(w, err)
		return
	}
	pr, _ := auth.FromContext(r.Context())
	if !pr.CanRead(q.Customer) {
		p.m.forbidden.Inc()
		auth.Forbid(w, pr, q.Customer)
		return
	}
	cust := p.customerLabel(q.Customer)
	state, err := p.opts.States.State(r.Context(), q.Customer)
	if err != nil {
		p.log.Error("cutover state", "customer", q.Customer, "err", err)
		writeError(w, http.StatusServiceUnavailable, query.CodeUnavailable, "cutover state of "+q.Customer+" unknown: "+err.Error())
		return
	}
	primary, secondary := compare.Legacy, compare.Nextgen
	if state.ServedByNextgen() {
		primary, secondary = secondary, primary
	}
	rep := p.ask(r, primary, cust, body)
	servedBy, fallback := primary, false
	if rep.failed() && state.Compared() {
		p.log.Warn("serving system failed, falling back", "customer", q.Customer, "state", state, "system", primary, "kind", rep.failKind, "err", rep.err)
		fb := p.ask(r, secondary, cust, body)
		if fb.status == http.StatusOK && !fb.failed() {
			p.m.fallbacks.WithLabelValues(cust, primary, secondary).Inc()
			rep, servedBy, fallback = fb, secondary, true
		} else {
			p.m.fallbackFailed.WithLabelValues(cust, primary, secondary).Inc()
			msg := fmt.Sprintf("%s failed (%v) and the fallback %s did not answer either (%s)", primary, rep.err, secondary, describe(fb))
			p.finish(cust, state, "none", http.StatusBadGateway, start)
			writeError(w, http.StatusBadGateway, query.CodeUnavailable, msg)
			return
		}
	}
	if rep.failed() {
		p.log.Warn("serving system failed", "customer", q.Customer, "state", state, "system", primary, "kind", rep.failKind, "err", rep.err)
		p.finish(cust, state, primary, http.StatusBadGateway, start)
		writeError(w, http.StatusBadGateway, query.CodeUnavailable, fmt.Sprintf("%s did not answer: %v", primary, rep.err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderServedBy, servedBy)
	out := rep.body
	if fallback {
		h.Set(HeaderFallback, "true")
		out = markFallback(out)
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	p.finish(cust, state, servedBy, rep.status, start)
	w.WriteHeader(rep.status)
	w.Write(out)
	if rep.status == http.StatusOK && !fallback && state.Compared() && p.opts.Comparer != nil {
		p.opts.Comparer.Offer(compare.Job{Query: q, ServedBy: servedBy, Body: rep.body, Source: compare.SourceProxy, At: start})
	}
}

// ask sends the query to one system and records its latency and errors.
func (p *Proxy) ask(r *http.Request, system, cust string, body []byte) *reply {
	rep := p.backends[system].query(r.Context(), body, r.Header.Get("Authorization"))
	p.m.backendSeconds.WithLabelValues(system, cust).Observe(rep.elapsed.Seconds())
	if rep.failed() {
		p.m.backendErrors.WithLabelValues(system, cust, rep.failKind).Inc()
	} else if rep.status >= 400 {
		p.m.backendErrors.WithLabelValues(system, cust, strconv.Itoa(rep.status)).Inc()
	}
	return rep
}

func (p *Proxy) finish(cust string, state cutover.State, servedBy string, status int, start time.Time) {
	p.m.requests.WithLabelValues(cust, string(state), servedBy, strconv.Itoa(status)).Inc()
	p.m.requestSeconds.WithLabelValues(cust).Observe(time.Since(start).Seconds())
}

func describe(r *reply) string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("status %d: %s", r.status, bytes.TrimSpace(truncate(r.body, 300)))
}

// markFallback adds "fallback": true to a JSON object answer.
func markFallback(body []byte) []byte {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return body
	}
	rest := bytes.TrimLeft(b[1:], " \t\r\n")
	out := make([]byte, 0, len(b)+20)
	out = append(out, `{"fallback":true`...)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	query.WriteError(w, status, code, msg)
}
