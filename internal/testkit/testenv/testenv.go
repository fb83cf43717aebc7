// Package testenv gives integration tests the real local stack: addresses
// from the same configuration the binary uses (defaults, BROOKS_* env), a
// check that fails the test loudly, naming the server, when one is not
// reachable, and unique names so tests never share state. `make test` starts
// the stack first; tests never skip because a server is down.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/pixel"
)

// Server names, as deploy/local names them.
const (
	Kafka         = "kafka"
	Redis         = "redis"
	FerretDB      = "ferretdb"
	Cassandra     = "cassandra"
	Elasticsearch = "elasticsearch"
)

// Config returns the configuration tests use: defaults plus BROOKS_* env,
// with the repository's customers file.
func Config(t testing.TB) config.Config {
	t.Helper()
	c := config.Default()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := c.Load(fs); err != nil {
		t.Fatalf("testenv: config: %v", err)
	}
	if !filepath.IsAbs(c.CustomersFile) {
		c.CustomersFile = filepath.Join(RepoRoot(t), c.CustomersFile)
	}
	return c
}

// Customers loads the repository's customers file.
func Customers(t testing.TB) *pixel.Customers {
	t.Helper()
	cs, err := pixel.LoadCustomers(Config(t).CustomersFile)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return cs
}

// RepoRoot is the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..")) // internal/testkit/testenv
}

// Require fails the test at once, naming the server and how to start it,
// when any of the named servers does not accept connections.
func Require(t testing.TB, servers ...string) config.Config {
	t.Helper()
	c := Config(t)
	for _, s := range servers {
		addr := address(c, s)
		conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			t.Fatalf("%s is not reachable at %s (%v): start the local stack with `make services-up` (or set BROOKS_* to point at it)", s, addr, err)
		}
		conn.Close()
	}
	return c
}

func address(c config.Config, server string) string {
	switch server {
	case Kafka:
		return c.KafkaBrokers[0]
	case Redis:
		return c.RedisAddr
	case FerretDB:
		u := strings.TrimPrefix(c.MongoURI, "mongodb://")
		return strings.Split(strings.TrimSuffix(u, "/"), "/")[0]
	case Cassandra:
		h := c.CassandraHosts[0]
		if !strings.Contains(h, ":") {
			h += ":9042"
		}
		return h
	case Elasticsearch:
		return strings.TrimPrefix(strings.TrimPrefix(c.ElasticURL, "http://"), "https://")
	}
	panic("testenv: unknown server " + server)
}

var seq atomic.Int64

// Name returns a name unique to this test run, for topics, keyspaces,
// indices, databases and consumer groups: prefix_<pid>_<n>.
func Name(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), seq.Add(1))
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
