// Package certify issues audit certificates: per (customer, UTC day), the
// replay's verdict, the ledger's reconciliation of every stage, the
// archive's part hashes and the code version, with a SHA-256 digest over
// that content, stored in Cassandra (audit_certificates) for the cutover
// gate to read.
//
//	c, err := certify.Issue(ctx, opts, "acme.example", day)
//	err = store.Save(ctx, c)
//	got, err := store.Get(ctx, "acme.example", day) // got.Verify() checks the digest
//
// Run certifies every settled customer-day of a period not yet certified
// (`brooks audit run --since 2d`).
package certify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/audit/replay"
)

// Schema names the certificate format.
const Schema = "brooks.audit.certificate/v1"

// DayLayout formats a certificate's day.
const DayLayout = "2006-01-02"

// Certificate is the evidence for one customer-day. Digest is the hex
// SHA-256 of the certificate's JSON encoding with Digest empty.
type Certificate struct {
	Schema      string    `json:"schema"`
	Customer    string    `json:"customer"`
	Day         string    `json:"day"`
	IssuedAt    time.Time `json:"issued_at"`
	CodeVersion string    `json:"code_version"`
	// Verdict is the replay's: clean, fault or inconclusive; Clean says
	// whether the ledger agrees too.
	Verdict string        `json:"verdict"`
	Clean   bool          `json:"clean"`
	Replay  ReplaySummary `json:"replay"`
	Ledger  LedgerSummary `json:"ledger"`
	Archive []PartHash    `json:"archive"`
	Digest  string        `json:"digest"`
}

// ReplaySummary is what the certificate keeps of the replay report.
type ReplaySummary struct {
	Counts     map[string]int   `json:"counts"`
	Compared   int              `json:"compared"`
	Events     int64            `json:"events"`
	Duplicates int64            `json:"duplicates"`
	Refused    []replay.Refusal `json:"refused"`
	RawStore   []RawHourStatus  `json:"raw_store"`
	Reasons    []string         `json:"reasons"`
}

// RawHourStatus is one hour of the raw-store comparison.
type RawHourStatus struct {
	Hour    time.Time        `json:"hour"`
	Status  string           `json:"status"`
	Archive replay.TallyJSON `json:"archive"`
	Raw     replay.TallyJSON `json:"raw_store"`
}

// LedgerSummary is the ledger's reconciliation of the day.
type LedgerSummary struct {
	OK         bool                `json:"ok"`
	Stages     []string            `json:"stages"`
	Settled    int                 `json:"settled"`
	Mismatched int                 `json:"mismatched"`
	Open       int                 `json:"open"`
	Hours      []ledger.HourReport `json:"hours"`
}

// PartHash is one archive part of the day as its manifest states it.
type PartHash struct {
	Key     string `json:"key"`
	SHA256  string `json:"sha256"`
	Events  int64  `json:"events"`
	EIDHash string `json:"eid_hash"`
}

// Sum computes the certificate's digest.
func (c *Certificate) Sum() (string, error) {
	cc := *c
	cc.Digest = ""
	b, err := json.Marshal(&cc)
	if err != nil {
		return "", fmt.Errorf("encode certificate: %w", err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// Verify checks the digest against the content.
func (c *Certificate) Verify() error {
	s, err := c.Sum()
	if err != nil {
		return err
	}
	if s != c.Digest {
		return fmt.Errorf("certificate %s %s: digest %s does not match its content (%s)", c.Customer, c.Day, c.Digest, s)
	}
	return nil
}

// LedgerReader reads the ledger (*ledger.Store, *ledger.Lazy).
type LedgerReader interface {
	Read(ctx context.Context, customer string, from, to time.Time) (ledger.Hours, error)
}

// Options configure Issue.
type Options struct {
	// Replay runs the day's replay (its Now decides what is settled).
	Replay replay.Options
	// Ledger is read for the day's stages (required).
	Ledger LedgerReader
	// LedgerGrace is how long after its end an hour is judged by the
	// ledger (10 minutes by default, as `brooks ledger`).
	LedgerGrace time.Duration
	// Version is the code version written in the certificate.
	Version string
}

// Issue replays customer's day, reconciles its ledger and collects its
// archive hashes into a certificate with its digest.
func Issue(ctx context.Context, o Options, customer string, day time.Time) (*Certificate, error) {
	if o.Ledger == nil {
		return nil, errors.New("certify: no ledger")
	}
	if o.LedgerGrace == 0 {
		o.LedgerGrace = 10 * time.Minute
	}
	day = day.UTC().Truncate(24 * time.Hour)
	end := day.Add(24 * time.Hour)
	rep, err := replay.Run(ctx, o.Replay, customer, day, end)
	if err != nil {
		return nil, fmt.Errorf("certify %s %s: %w", customer, day.Format(DayLayout), err)
	}
	hours, err := o.Ledger.Read(ctx, customer, day, end)
	if err != nil {
		return nil, fmt.Errorf("certify %s %s: ledger: %w", customer, day.Format(DayLayout), err)
	}
	lr := ledger.Compare(customer, hours, day, end, rep.Now, o.LedgerGrace)
	mans, _, err := archive.Manifests(ctx, o.Replay.Sink, customer, day, end)
	if err != nil {
		return nil, fmt.Errorf("certify %s %s: archive: %w", customer, day.Format(DayLayout), err)
	}
	c := &Certificate{
		Schema: Schema, Customer: customer, Day: day.Format(DayLayout), IssuedAt: rep.Now, CodeVersion: o.Version,
		Verdict: rep.Verdict, Clean: rep.OK() && lr.OK(),
		Replay: ReplaySummary{Counts: rep.Counts, Compared: rep.Compared, Events: rep.Archive.Events, Duplicates: rep.Archive.Duplicates,
			Refused: rep.Archive.Refused, RawStore: []RawHourStatus{}, Reasons: rep.Reasons},
		Ledger:  LedgerSummary{OK: lr.OK(), Stages: lr.Stages, Settled: lr.Settled, Mismatched: lr.Mismatched, Open: lr.Open, Hours: lr.Hours},
		Archive: []PartHash{},
	}
	if !lr.OK() {
		c.Replay.Reasons = append(c.Replay.Reasons, fmt.Sprintf("ledger: stages disagree on %d settled hours", lr.Mismatched))
	}
	for _, h := range rep.RawStore {
		c.Replay.RawStore = append(c.Replay.RawStore, RawHourStatus{Hour: h.Hour, Status: h.Status, Archive: h.Archive, Raw: h.Raw})
	}
	for _, m := range mans {
		c.Archive = append(c.Archive, PartHash{Key: m.Key, SHA256: m.SHA256, Events: m.Events, EIDHash: m.EIDHash})
	}
	if c.Digest, err = c.Sum(); err != nil {
		return nil, err
	}
	return c, nil
}

// Text prints the certificate for people.
func (c *Certificate) Text(w io.Writer) error {
	verdict := "NOT CLEAN"
	if c.Clean {
		verdict = "CLEAN"
	}
	fmt.Fprintf(w, "audit certificate of %s for %s: %s (replay %s, ledger ok %v)\n", c.Customer, c.Day, verdict, c.Verdict, c.Ledger.OK)
	fmt.Fprintf(w, "issued %s by brooks %s\ndigest sha256:%s\n", c.IssuedAt.Format(time.RFC3339), c.CodeVersion, c.Digest)
	fmt.Fprintf(w, "replay: %d distinct events, %d duplicates skipped, %d settled cells compared, %d refused parts\n",
		c.Replay.Events, c.Replay.Duplicates, c.Replay.Compared, len(c.Replay.Refused))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range replay.Verdicts {
		fmt.Fprintf(tw, "  %s\t%d\n", v, c.Replay.Counts[v])
	}
	tw.Flush()
	fmt.Fprintf(w, "ledger: stages %s; %d hours settled, %d mismatched, %d open\n", strings.Join(c.Ledger.Stages, ", "), c.Ledger.Settled, c.Ledger.Mismatched, c.Ledger.Open)
	for _, h := range c.Ledger.Hours {
		for _, f := range h.Findings {
			fmt.Fprintf(w, "  %s %s\n", h.Hour.Format("15:04"), f.Message)
		}
	}
	var events int64
	for _, p := range c.Archive {
		events += p.Events
	}
	fmt.Fprintf(w, "archive: %d parts, %d records\n", len(c.Archive), events)
	for _, r := range c.Replay.Reasons {
		fmt.Fprintf(w, "  reason: %s\n", r)
	}
	return nil
}

// JSON writes the certificate as indented JSON.
func (c *Certificate) JSON(w io.Writer) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
