package bench

import (
	"context"
	"fmt"
	"regexp"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/nextgen/esindex"
)

var runName = regexp.MustCompile(`^[a-z][a-z0-9_-]*\d{8}t\d{6}$`)

// dropKeyspace drops the run's keyspace; the name must end with a run id,
// so nothing else can be dropped by mistake.
func dropKeyspace(ctx context.Context, hosts []string, keyspace string) error {
	if !runName.MatchString(keyspace) {
		return fmt.Errorf("keyspace %q is not a run's", keyspace)
	}
	s, err := cass.Connect(hosts, "")
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Query("DROP KEYSPACE IF EXISTS " + keyspace).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("drop keyspace %s: %w", keyspace, err)
	}
	return nil
}

// deleteIndices deletes the run's rollup indices and index templates; the
// prefix must end with a run id.
func deleteIndices(ctx context.Context, base, prefix string) error {
	if !runName.MatchString(prefix) {
		return fmt.Errorf("index prefix %q is not a run's", prefix)
	}
	es, err := esindex.Open(base, prefix)
	if err != nil {
		return err
	}
	return es.DeleteAll(ctx)
}
