package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

// ManifestVersion is the schema version written in every manifest.
const ManifestVersion = 1

// InvalidCustomer is the folder of records that are not valid pixel events
// (undecodable JSON, missing fields, a customer id unfit for a path). They
// are archived, never dropped, bucketed by their Kafka timestamp.
const InvalidCustomer = "_invalid"

// File name suffixes of a part and its manifest.
const (
	PartSuffix     = ".ndjson.gz"
	ManifestSuffix = ".manifest.json"
)

// Manifest describes one closed part: a gzip-compressed file of
// newline-delimited records of one customer, one UTC hour and one Kafka
// partition. A part belongs to the archive exactly when its manifest
// exists; the manifest is written after the part is durable.
type Manifest struct {
	Version   int       `json:"version"`
	Key       string    `json:"key"`
	Customer  string    `json:"customer"`
	Hour      time.Time `json:"hour"`
	Topic     string    `json:"topic"`
	Partition int       `json:"partition"`
	// FirstOffset and LastOffset are the Kafka offsets of the part's first
	// and last record; records of other customers or hours lie between.
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
	// Events counts the part's records (lines).
	Events int64 `json:"events"`
	// Bytes is the size of the compressed file; RawBytes of its content.
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"raw_bytes"`
	// SHA256 is the hex digest of the compressed file.
	SHA256 string `json:"sha256"`
	// EIDHash is the ledger's order-free hash of the event ids (sum of
	// xxhash64 mod 2^64, as 16 hex digits); Events and EIDHash together are
	// the part's ledger.Tally. Invalid records add to Events, not to the hash.
	EIDHash   string    `json:"eid_hash"`
	Invalid   int64     `json:"invalid,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Reason says why the part was closed: hour, roll, size, shutdown or
	// rebalance.
	Reason string `json:"reason"`
	Writer string `json:"writer"`
}

// Tally returns the part's ledger tally (valid events only).
func (m *Manifest) Tally() (ledger.Tally, error) {
	h, err := strconv.ParseUint(m.EIDHash, 16, 64)
	if err != nil {
		return ledger.Tally{}, fmt.Errorf("manifest %s: eid_hash %q: %w", m.Key, m.EIDHash, err)
	}
	return ledger.Tally{Count: m.Events - m.Invalid, Hash: h}, nil
}

// ManifestKey is the key of the manifest of the part at key.
func (m *Manifest) ManifestKey() string { return ManifestKeyOf(m.Key) }

// ManifestKeyOf returns the manifest key of a part key.
func ManifestKeyOf(partKey string) string {
	return strings.TrimSuffix(partKey, PartSuffix) + ManifestSuffix
}

// HashHex formats a tally hash as the manifest writes it.
func HashHex(h uint64) string { return fmt.Sprintf("%016x", h) }

// HourPrefix is the folder of a customer's hour: "{customer}/{YYYY-MM-DD}/{HH}/".
func HourPrefix(customer string, hour time.Time) string {
	return customer + "/" + hour.UTC().Format("2006-01-02/15") + "/"
}

// DayPrefix is the folder of a customer's UTC day: "{customer}/{YYYY-MM-DD}/".
func DayPrefix(customer string, day time.Time) string {
	return customer + "/" + day.UTC().Format("2006-01-02") + "/"
}

// PartKey is the key of the part of customer and hour on partition whose
// first record is at offset first:
// "{customer}/{YYYY-MM-DD}/{HH}/p{partition}-{first:020d}.ndjson.gz".
func PartKey(customer string, hour time.Time, partition int, first int64) string {
	return fmt.Sprintf("%sp%d-%020d%s", HourPrefix(customer, hour), partition, first, PartSuffix)
}

var partName = regexp.MustCompile(`^p(\d+)-(\d{20})\.(ndjson\.gz|manifest\.json)$`)

// ParseName returns the partition and first offset named by a part or
// manifest key's last segment.
func ParseName(key string) (partition int, first int64, ok bool) {
	m := partName.FindStringSubmatch(key[strings.LastIndex(key, "/")+1:])
	if m == nil {
		return 0, 0, false
	}
	p, err1 := strconv.Atoi(m[1])
	f, err2 := strconv.ParseInt(m[2], 10, 64)
	return p, f, err1 == nil && err2 == nil
}

var validCustomer = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidCustomer reports whether id can name a customer folder.
func ValidCustomer(id string) bool { return validCustomer.MatchString(id) && id != InvalidCustomer }

// writeManifest stores m durably under its manifest key.
func writeManifest(ctx context.Context, sink Sink, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	obj, err := sink.Create(ctx, m.ManifestKey())
	if err != nil {
		return err
	}
	if _, err := obj.Write(append(b, '\n')); err != nil {
		obj.Abort()
		return fmt.Errorf("write manifest %s: %w", m.ManifestKey(), err)
	}
	return obj.Commit(ctx)
}

// ReadManifest reads the manifest at key (a manifest key).
func ReadManifest(ctx context.Context, sink Sink, key string) (*Manifest, error) {
	rc, err := sink.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode manifest %s: %w", key, err)
	}
	if m.Version != ManifestVersion || m.Key == "" || ManifestKeyOf(m.Key) != key {
		return nil, fmt.Errorf("manifest %s: version %d, key %q: not a manifest of this archive", key, m.Version, m.Key)
	}
	return &m, nil
}
