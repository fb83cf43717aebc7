package certify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"
)

// Table is the Cassandra table of certificates.
const Table = "audit_certificates"

const schema = `CREATE TABLE IF NOT EXISTS %s.audit_certificates (
	customer text,
	day text,
	issued_at timestamp,
	verdict text,
	clean boolean,
	digest text,
	body text,
	PRIMARY KEY ((customer), day)
) WITH CLUSTERING ORDER BY (day DESC)
  AND comment = 'brooks audit certificates, one per customer and UTC day (body: the certificate JSON, digest: its sha256)'`

// ErrNotFound is returned by Get for a customer-day without a certificate.
var ErrNotFound = errors.New("no certificate")

// Migrate creates the certificate table (idempotent).
func Migrate(ctx context.Context, s *gocql.Session, keyspace string) error {
	if err := s.Query(fmt.Sprintf(schema, keyspace)).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create table %s.%s: %w", keyspace, Table, err)
	}
	return nil
}

// Store keeps certificates in Cassandra.
type Store struct {
	s        *gocql.Session
	keyspace string
}

// NewStore returns a store on a session of keyspace.
func NewStore(s *gocql.Session, keyspace string) *Store { return &Store{s: s, keyspace: keyspace} }

// Save stores c (its digest must match), replacing the day's earlier one.
func (st *Store) Save(ctx context.Context, c *Certificate) error {
	if err := c.Verify(); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode certificate: %w", err)
	}
	err = st.s.Query(fmt.Sprintf(`INSERT INTO %s.%s (customer, day, issued_at, verdict, clean, digest, body) VALUES (?, ?, ?, ?, ?, ?, ?)`, st.keyspace, Table),
		c.Customer, c.Day, c.IssuedAt, c.Verdict, c.Clean, c.Digest, string(b)).WithContext(ctx).Exec()
	if err != nil {
		return fmt.Errorf("save certificate %s %s: %w", c.Customer, c.Day, err)
	}
	return nil
}

// Get reads the certificate of customer's day and checks its digest.
func (st *Store) Get(ctx context.Context, customer string, day time.Time) (*Certificate, error) {
	var body string
	d := day.UTC().Format(DayLayout)
	err := st.s.Query(fmt.Sprintf(`SELECT body FROM %s.%s WHERE customer = ? AND day = ?`, st.keyspace, Table), customer, d).WithContext(ctx).Scan(&body)
	if errors.Is(err, gocql.ErrNotFound) {
		return nil, fmt.Errorf("%w for %s on %s", ErrNotFound, customer, d)
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate %s %s: %w", customer, d, err)
	}
	var c Certificate
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		return nil, fmt.Errorf("decode certificate %s %s: %w", customer, d, err)
	}
	return &c, c.Verify()
}

// Has reports whether customer's day has a certificate, and whether it
// is clean.
func (st *Store) Has(ctx context.Context, customer string, day time.Time) (found, clean bool, err error) {
	err = st.s.Query(fmt.Sprintf(`SELECT clean FROM %s.%s WHERE customer = ? AND day = ?`, st.keyspace, Table), customer, day.UTC().Format(DayLayout)).
		WithContext(ctx).Scan(&clean)
	if errors.Is(err, gocql.ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("look up certificate: %w", err)
	}
	return true, clean, nil
}
