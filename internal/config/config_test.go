package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestLoadPriority(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "brooks.yaml")
	if err := os.WriteFile(file, []byte("redis_addr: file:1\ntopic: from-file\nkafka_brokers: [a:1, b:2]\nshutdown_timeout: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROOKS_TOPIC", "from-env")
	t.Setenv("BROOKS_KEYSPACE", "ks_env")
	t.Setenv("BROOKS_ROOT", dir)
	t.Setenv("BROOKS_STATE", "st")
	c := Default()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--config", file, "--keyspace", "ks_flag"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Load(fs); err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.RedisAddr = "file:1"
	want.Topic = "from-env"
	want.KafkaBrokers = []string{"a:1", "b:2"}
	want.ShutdownTimeout = 5 * time.Second
	want.Keyspace = "ks_flag"
	want.Root = dir
	want.StateDir = filepath.Join(dir, "st")
	want.CustomersFile = filepath.Join(dir, "deploy/local/customers.yaml")
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("topic: t\nkafka_broker: [a:1]\n"), 0o644)
	notMap := filepath.Join(dir, "list.yaml")
	os.WriteFile(notMap, []byte("- topic\n"), 0o644)
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		errHas string
	}{
		{"unknown yaml key", nil, []string{"--config", bad}, "unknown key kafka_broker in " + bad + " (line 2); valid keys: kafka_brokers, topic, topic_partitions,"},
		{"not a mapping", nil, []string{"--config", notMap}, "want a mapping"},
		{"missing file", nil, []string{"--config", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"bad env duration", map[string]string{"BROOKS_SHUTDOWN_TIMEOUT": "soon"}, nil, "BROOKS_SHUTDOWN_TIMEOUT"},
		{"bad env int", map[string]string{"BROOKS_TOPIC_PARTITIONS": "six"}, nil, "BROOKS_TOPIC_PARTITIONS"},
		{"old state variable", map[string]string{"BROOKS_STATE_DIR": "/tmp/x"}, nil, "BROOKS_STATE_DIR is not read: the state folder is BROOKS_STATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BROOKS_ROOT", dir)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := Default()
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.Load(fs)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Load error %v, want one containing %q", err, tt.errHas)
			}
		})
	}
}

// TestRootIndependentOfCurrentFolder: the binary of a checkout finds that
// checkout's state from any folder, so a command run elsewhere never
// creates or reads another, empty state.
func TestRootIndependentOfCurrentFolder(t *testing.T) {
	checkout, elsewhere := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(checkout, "deploy/local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checkout, RootMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(checkout, "bin", "brooks")
	tests := []struct {
		name, env, exe, wd, want string
	}{
		{"binary of the checkout, run from elsewhere", "", exe, elsewhere, checkout},
		{"binary of the checkout, run from inside it", "", exe, filepath.Join(checkout, "deploy"), checkout},
		{"go test binary: the current folder's checkout", "", "/tmp/go-build1/b001/x.test", filepath.Join(checkout, "deploy/local"), checkout},
		{"BROOKS_ROOT wins", elsewhere, exe, checkout, elsewhere},
		{"nowhere", "", "/usr/local/bin/brooks", elsewhere, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findRoot(tt.env, tt.exe, tt.wd)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "set BROOKS_ROOT") {
					t.Errorf("findRoot = %q, %v; want an error saying to set BROOKS_ROOT", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("findRoot = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// Load from elsewhere, relative state: resolved against the root.
	t.Chdir(elsewhere)
	t.Setenv("BROOKS_ROOT", checkout)
	t.Setenv("BROOKS_STATE", ".brooks")
	c := Default()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := c.Load(fs); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(checkout, ".brooks"); c.StateDir != want || c.Archive() != filepath.Join(want, "archive") {
		t.Errorf("state %q archive %q, want %q", c.StateDir, c.Archive(), want)
	}
	if err := c.RequireState(); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("RequireState on a missing state: %v", err)
	}
	if err := os.Mkdir(c.StateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.RequireState(); err != nil {
		t.Errorf("RequireState: %v", err)
	}
}
