package archive

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

// MaxLine is the longest record ReadPart accepts.
const MaxLine = 16 << 20

// Customers lists the customer folders of the archive (with
// InvalidCustomer when it holds invalid records).
func Customers(ctx context.Context, sink Sink) ([]string, error) {
	ents, err := sink.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e, "/") {
			out = append(out, strings.TrimSuffix(e, "/"))
		}
	}
	return out, nil
}

// Manifests returns the manifests of customer's parts for the hours in
// [from, to), by hour, partition and first offset. orphans lists part
// objects without a manifest (left by a crash between the two writes; not
// part of the archive).
func Manifests(ctx context.Context, sink Sink, customer string, from, to time.Time) (mans []*Manifest, orphans []string, err error) {
	for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		keys, err := sink.List(ctx, HourPrefix(customer, h))
		if err != nil {
			return nil, nil, err
		}
		have := map[string]bool{}
		for _, k := range keys {
			if strings.HasSuffix(k, ManifestSuffix) {
				have[k] = true
			}
		}
		for _, k := range keys {
			switch {
			case strings.HasSuffix(k, PartSuffix) && !have[ManifestKeyOf(k)]:
				orphans = append(orphans, k)
			case strings.HasSuffix(k, ManifestSuffix):
				m, err := ReadManifest(ctx, sink, k)
				if err != nil {
					return nil, nil, err
				}
				mans = append(mans, m)
			}
		}
	}
	sort.SliceStable(mans, func(i, j int) bool {
		a, b := mans[i], mans[j]
		if !a.Hour.Equal(b.Hour) {
			return a.Hour.Before(b.Hour)
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.FirstOffset < b.FirstOffset
	})
	return mans, orphans, nil
}

// ReadPart calls fn with every record of m's part, in Kafka order, then
// checks the file's size and sha256 against the manifest. The slice passed
// to fn is reused: copy it to keep it.
func ReadPart(ctx context.Context, sink Sink, m *Manifest, fn func(value []byte) error) error {
	rc, err := sink.Open(ctx, m.Key)
	if err != nil {
		return err
	}
	defer rc.Close()
	sum := sha256.New()
	cnt := &countingWriter{w: sum}
	tee := io.TeeReader(rc, cnt)
	gz, err := gzip.NewReader(tee)
	if err != nil {
		return fmt.Errorf("read part %s: %w", m.Key, err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read part %s: %w", m.Key, err)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("read part %s: %w", m.Key, err)
	}
	if cnt.n != m.Bytes {
		return fmt.Errorf("part %s: %d bytes, manifest says %d", m.Key, cnt.n, m.Bytes)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("part %s: sha256 %s, manifest says %s", m.Key, got, m.SHA256)
	}
	return nil
}

// Problem is one thing Verify found wrong.
type Problem struct {
	Key     string `json:"key"`
	Problem string `json:"problem"`
}

// VerifyReport is what Verify found for one customer and period.
type VerifyReport struct {
	Customer string `json:"customer"`
	Parts    int    `json:"parts"`
	Events   int64  `json:"events"`
	Bytes    int64  `json:"bytes"`
	// Tallies are recomputed from the files' content, per hour.
	Tallies map[ledger.Key]ledger.Tally `json:"-"`
	// Hours are the Tallies in hour order, as JSON shows them: compare
	// them with `bin/brooks ledger` (stage archive).
	Hours    []HourTally `json:"hours"`
	Problems []Problem   `json:"problems"`
	Orphans  []string    `json:"orphans"`
}

// HourTally is one hour's tally recomputed from the files; the hash is 16
// hex digits (a uint64 does not survive JSON readers that use doubles).
type HourTally struct {
	Hour   time.Time `json:"hour"`
	Events int64     `json:"events"`
	Hash   string    `json:"eid_hash"`
}

// OK reports whether every part matched its manifest.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify re-reads every part of customer for the hours in [from, to) and
// checks it against its manifest: size, sha256, line count, the order-free
// hash of event ids, and that every record belongs to the part's customer
// and hour.
func Verify(ctx context.Context, sink Sink, customer string, from, to time.Time) (*VerifyReport, error) {
	mans, orphans, err := Manifests(ctx, sink, customer, from, to)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Customer: customer, Tallies: map[ledger.Key]ledger.Tally{}, Orphans: orphans, Problems: []Problem{}}
	for _, m := range mans {
		rep.Parts++
		rep.Bytes += m.Bytes
		var n, invalid int64
		var t ledger.Tally
		var wrong []string
		err := ReadPart(ctx, sink, m, func(line []byte) error {
			n++
			ev, err := decodeHead(line)
			if err != nil || !ValidCustomer(ev.Customer) {
				invalid++
				return nil
			}
			if ev.Customer != m.Customer || !ev.ReceivedAt.UTC().Truncate(time.Hour).Equal(m.Hour) {
				if len(wrong) < 3 {
					wrong = append(wrong, fmt.Sprintf("event %s of %s at %s", ev.EID, ev.Customer, ev.ReceivedAt.Format(time.RFC3339)))
				}
			}
			t.Add(ev.EID)
			return nil
		})
		if err != nil {
			if errors.Is(err, ErrNotExist) {
				err = errors.New("part file missing")
			}
			rep.Problems = append(rep.Problems, Problem{m.Key, err.Error()})
			continue
		}
		rep.Events += n
		if n != m.Events || invalid != m.Invalid {
			rep.Problems = append(rep.Problems, Problem{m.Key, fmt.Sprintf("%d records (%d invalid), manifest says %d (%d invalid)", n, invalid, m.Events, m.Invalid)})
		}
		if HashHex(t.Hash) != m.EIDHash {
			rep.Problems = append(rep.Problems, Problem{m.Key, fmt.Sprintf("event-id hash %s, manifest says %s", HashHex(t.Hash), m.EIDHash)})
		}
		if len(wrong) > 0 {
			rep.Problems = append(rep.Problems, Problem{m.Key, "records of another customer or hour: " + strings.Join(wrong, "; ")})
		}
		k := ledger.KeyOf(m.Customer, m.Hour)
		cur := rep.Tallies[k]
		cur.Merge(t)
		rep.Tallies[k] = cur
	}
	rep.Hours = []HourTally{}
	for _, k := range ledger.SortedKeys(rep.Tallies) {
		t := rep.Tallies[k]
		rep.Hours = append(rep.Hours, HourTally{Hour: k.Hour, Events: t.Count, Hash: HashHex(t.Hash)})
	}
	return rep, nil
}
