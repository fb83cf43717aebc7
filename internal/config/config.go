// Package config is Brooks' configuration: where the stores are, which
// customers exist, where state lives. Values come from, in rising priority,
// the defaults (the local stack of deploy/local), an optional YAML file,
// BROOKS_* environment variables and command-line flags.
//
// Relative paths (state, customers_file, archive_dir) never depend on the
// current folder: Load resolves them against the Brooks root (see
// FindRoot), so `bin/brooks` run from anywhere uses the same state.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config is the whole of Brooks' configuration. Every field has a YAML key,
// an environment variable (BROOKS_ + upper-case key) and a flag (key with
// dashes).
type Config struct {
	KafkaBrokers    []string      `yaml:"kafka_brokers" help:"Kafka bootstrap brokers"`
	Topic           string        `yaml:"topic" help:"Kafka raw-pixel topic (the tee)"`
	TopicPartitions int           `yaml:"topic_partitions" help:"partitions of the raw-pixel topic when migrate creates it"`
	RedisAddr       string        `yaml:"redis_addr" help:"Redis address (legacy real-time counters)"`
	MongoURI        string        `yaml:"mongo_uri" help:"MongoDB-wire URI (legacy daily history)"`
	MongoDatabase   string        `yaml:"mongo_database" help:"MongoDB database name"`
	CassandraHosts  []string      `yaml:"cassandra_hosts" help:"Cassandra contact points"`
	Keyspace        string        `yaml:"keyspace" help:"Cassandra keyspace"`
	CassandraRF     int           `yaml:"cassandra_replication" help:"replication factor (SimpleStrategy) of the keyspace migrate creates"`
	CassandraCL     string        `yaml:"cassandra_consistency" help:"consistency of nextgen's raw-event reads and writes: one, local_one, quorum, local_quorum, ... (with replication 3, local_quorum)"`
	ElasticURL      string        `yaml:"elastic_url" help:"Elasticsearch URL"`
	IndexPrefix     string        `yaml:"index_prefix" help:"prefix of Brooks' Elasticsearch indices"`
	ElasticRefresh  time.Duration `yaml:"elastic_refresh" help:"refresh interval of the rollup indices, set by migrate: how soon written rollups are searchable (1s costs Elasticsearch about 3x the CPU per event of 5s)"`
	CustomersFile   string        `yaml:"customers_file" help:"customers YAML file (see pixel.ParseCustomers)"`
	StateDir        string        `yaml:"state" help:"local state folder (server installs, archive, demo logs); relative to the Brooks root"`
	ArchiveDir      string        `yaml:"archive_dir" help:"raw-log archive folder (default STATE/archive)"`
	LogLevel        string        `yaml:"log_level" help:"log level: debug, info, warn, error"`
	LogFormat       string        `yaml:"log_format" help:"log format: text or json"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" help:"how long a component may take to flush on SIGTERM"`
	APITokensFile   string        `yaml:"api_tokens_file" help:"bearer tokens file, SHA-256 hashes only (internal/auth; add with brooks token new): every HTTP endpoint but /healthz, /readyz and the tracker endpoints requires a token, admin unless the route serves per customer; relative to the Brooks root (empty: endpoints are open, on loopback only; brooks proxy needs it)"`

	// Root is the Brooks root relative paths were resolved against (see
	// FindRoot); "" when every path was absolute.
	Root string `yaml:"-"`
}

// esRefreshDefault is the rollup indices' refresh interval (see
// nextgen/README.md: the measured cost of 1s against 5s).
const esRefreshDefault = 5 * time.Second

// Default points every address at the local stack started by
// deploy/local/stack.sh.
func Default() Config {
	return Config{
		KafkaBrokers:    []string{"127.0.0.1:9092"},
		Topic:           "brooks.pixels.raw",
		TopicPartitions: 6,
		RedisAddr:       "127.0.0.1:6379",
		MongoURI:        "mongodb://127.0.0.1:27017/",
		MongoDatabase:   "brooks_legacy",
		CassandraHosts:  []string{"127.0.0.1"},
		Keyspace:        "brooks",
		CassandraRF:     1,
		CassandraCL:     "one",
		ElasticURL:      "http://127.0.0.1:9200",
		IndexPrefix:     "brooks",
		ElasticRefresh:  esRefreshDefault,
		CustomersFile:   "deploy/local/customers.yaml",
		StateDir:        ".brooks",
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 30 * time.Second,
	}
}

// Archive returns the archive folder.
func (c *Config) Archive() string {
	if c.ArchiveDir != "" {
		return c.ArchiveDir
	}
	return filepath.Join(c.StateDir, "archive")
}

// RequireArchive fails, saying so, when the archive folder does not exist
// (see RequireState): reading an archive must not create an empty one.
func (c *Config) RequireArchive() error {
	if c.ArchiveDir == "" {
		if err := c.RequireState(); err != nil {
			return err
		}
	}
	fi, err := os.Stat(c.Archive())
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("archive %s is not a folder", c.Archive())
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("archive %s does not exist: no archiver (bin/brooks archive) has written to it; check BROOKS_STATE or --archive-dir", c.Archive())
	}
	return fmt.Errorf("archive: %w", err)
}

// RequireState fails, saying so, when the state folder does not exist: a
// command reading state must not create an empty one and report on it.
func (c *Config) RequireState() error {
	fi, err := os.Stat(c.StateDir)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("state %s is not a folder", c.StateDir)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("state %s does not exist (BROOKS_STATE=%q, root %q): nothing has run with this state; set BROOKS_STATE to the state in use or start the stack (make services-up)", c.StateDir, os.Getenv(envName("state")), c.Root)
	}
	return fmt.Errorf("state: %w", err)
}

// RegisterFlags adds a flag per field to fs, with the current values as
// defaults.
func (c *Config) RegisterFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "optional YAML configuration file (env BROOKS_CONFIG)")
	forEachField(c, func(key string, f reflect.Value, help string) {
		name := strings.ReplaceAll(key, "_", "-")
		help = fmt.Sprintf("%s (env %s)", help, envName(key))
		switch p := f.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, help)
		case *[]string:
			fs.StringSliceVar(p, name, *p, help)
		case *int:
			fs.IntVar(p, name, *p, help)
		case *time.Duration:
			fs.DurationVar(p, name, *p, help)
		}
	})
}

func envName(key string) string { return "BROOKS_" + strings.ToUpper(key) }

// Load fills c from the YAML file (flag --config or BROOKS_CONFIG) and the
// environment, then re-applies the flags the user set, so flags win.
func (c *Config) Load(fs *pflag.FlagSet) error {
	// Flags are bound to c's fields: note what the user set before the file
	// and the environment overwrite them.
	set := map[string]string{}
	fs.Visit(func(fl *pflag.Flag) {
		v := fl.Value.String()
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		set[fl.Name] = v
	})
	path := os.Getenv("BROOKS_CONFIG")
	if f := fs.Lookup("config"); f != nil && f.Changed {
		path = f.Value.String()
	}
	if _, ok := os.LookupEnv("BROOKS_STATE_DIR"); ok {
		return fmt.Errorf("BROOKS_STATE_DIR is not read: the state folder is BROOKS_STATE (or --state)")
	}
	if path != "" {
		if err := c.loadFile(path); err != nil {
			return err
		}
	}
	var err error
	forEachField(c, func(key string, f reflect.Value, _ string) {
		v, ok := os.LookupEnv(envName(key))
		if !ok || err != nil {
			return
		}
		if e := setFromString(f, v); e != nil {
			err = fmt.Errorf("%s=%q: %w", envName(key), v, e)
		}
	})
	if err != nil {
		return err
	}
	forEachField(c, func(key string, f reflect.Value, _ string) {
		name := strings.ReplaceAll(key, "_", "-")
		if v, ok := set[name]; ok && err == nil {
			if e := setFromString(f, v); e != nil {
				err = fmt.Errorf("--%s: %w", name, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return c.resolvePaths()
}

// loadFile decodes a YAML file into c; an unknown key is an error naming
// it, the file and line, and the valid keys.
func (c *Config) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return fmt.Errorf("config %s: line %d: want a mapping of keys to values", path, top.Line)
	}
	valid := Keys()
	for i := 0; i < len(top.Content); i += 2 {
		k := top.Content[i]
		if !slices.Contains(valid, k.Value) {
			return fmt.Errorf("unknown key %s in %s (line %d); valid keys: %s", k.Value, path, k.Line, strings.Join(valid, ", "))
		}
	}
	if err := top.Decode(c); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Keys lists the valid YAML keys, in declaration order.
func Keys() []string {
	var keys []string
	forEachField(&Config{}, func(key string, _ reflect.Value, _ string) { keys = append(keys, key) })
	return keys
}

func setFromString(f reflect.Value, v string) error {
	switch p := f.Addr().Interface().(type) {
	case *string:
		*p = v
	case *[]string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*p = out
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration (like 30s)")
		}
		*p = d
	}
	return nil
}

func forEachField(c *Config, fn func(key string, f reflect.Value, help string)) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		key := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if key == "" || key == "-" {
			continue
		}
		fn(key, v.Field(i), t.Field(i).Tag.Get("help"))
	}
}
