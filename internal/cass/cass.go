// Package cass opens Cassandra sessions the way every Brooks component
// needs them: local quorum-free single-node defaults, a keyspace created on
// demand, and errors that name the server.
package cass

import (
	"context"
	"fmt"
	"io"
	"log"
	"regexp"
	"strconv"
	"time"

	"github.com/gocql/gocql"
)

var validKeyspace = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,47}$`)

// Connect opens a session on hosts, using keyspace when it is not "".
func Connect(hosts []string, keyspace string) (*gocql.Session, error) {
	cluster := gocql.NewCluster(hosts...)
	cluster.Keyspace = keyspace
	cluster.Consistency = gocql.One
	cluster.Timeout = 10 * time.Second
	cluster.ConnectTimeout = 10 * time.Second
	cluster.NumConns = 2
	// gocql logs reconnects and session shutdowns itself; errors that matter
	// are returned to callers.
	cluster.Logger = log.New(io.Discard, "", 0)
	cluster.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: 3, Min: 50 * time.Millisecond, Max: time.Second}
	s, err := cluster.CreateSession()
	if err != nil {
		return nil, fmt.Errorf("cassandra %v: %w", hosts, err)
	}
	return s, nil
}

// EnsureKeyspace creates keyspace with SimpleStrategy and replication
// factor rf if it does not exist.
func EnsureKeyspace(ctx context.Context, hosts []string, keyspace string, rf int) error {
	if !validKeyspace.MatchString(keyspace) {
		return fmt.Errorf("keyspace %q: want letters, digits and _ (at most 48), starting with a letter", keyspace)
	}
	if rf <= 0 {
		rf = 1
	}
	s, err := Connect(hosts, "")
	if err != nil {
		return err
	}
	defer s.Close()
	stmt := fmt.Sprintf(`CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}`, keyspace, rf)
	if err := s.Query(stmt).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("create keyspace %s: %w", keyspace, err)
	}
	var repl map[string]string
	if err := s.Query(`SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?`, keyspace).WithContext(ctx).Scan(&repl); err != nil {
		return fmt.Errorf("read keyspace %s: %w", keyspace, err)
	}
	if got := repl["replication_factor"]; repl["class"] == "org.apache.cassandra.locator.SimpleStrategy" && got != strconv.Itoa(rf) {
		return fmt.Errorf("keyspace %s exists with replication factor %s, not %d: migrate does not change it; run ALTER KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}, then nodetool repair",
			keyspace, got, rf, keyspace, rf)
	}
	return nil
}
