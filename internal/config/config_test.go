package config

import (
	"os"
	"path/filepath"
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
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("no_such_key: 1\n"), 0o644)
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"unknown yaml key", nil, []string{"--config", bad}},
		{"missing file", nil, []string{"--config", filepath.Join(dir, "none.yaml")}},
		{"bad env duration", map[string]string{"BROOKS_SHUTDOWN_TIMEOUT": "soon"}, nil},
		{"bad env int", map[string]string{"BROOKS_TOPIC_PARTITIONS": "six"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := Default()
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := c.Load(fs); err == nil {
				t.Error("Load succeeded, want an error")
			}
		})
	}
}
