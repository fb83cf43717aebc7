package cutover

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStates(t *testing.T) {
	tests := []struct {
		name, file string
		def        State
		want       map[string]State
		err        string
	}{
		{"empty", "", Legacy, map[string]State{}, ""},
		{"states", "default: shadow\ncustomers:\n  a: live\n  b: complete\n", Shadow, map[string]State{"a": Live, "b": Complete}, ""},
		{"bad state", "customers:\n  a: half\n", "", nil, "customers.a"},
		{"bad default", "default: off\n", "", nil, "default"},
		{"unknown key", "defaults: legacy\n", "", nil, "defaults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, got, err := ParseStates([]byte(tt.file))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil || def != tt.def || len(got) != len(tt.want) {
				t.Fatalf("= %v, %v, %v", def, got, err)
			}
			for c, s := range tt.want {
				if got[c] != s {
					t.Errorf("%s: %s, want %s", c, got[c], s)
				}
			}
		})
	}
}

func TestStateRoles(t *testing.T) {
	for _, tt := range []struct {
		s                 State
		compared, nextgen bool
	}{{Legacy, false, false}, {Shadow, true, false}, {Live, true, true}, {Complete, false, true}} {
		if tt.s.Compared() != tt.compared || tt.s.ServedByNextgen() != tt.nextgen {
			t.Errorf("%s: compared %v, nextgen %v", tt.s, tt.s.Compared(), tt.s.ServedByNextgen())
		}
	}
}

func TestFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cutover.yaml")
	os.WriteFile(path, []byte("customers:\n  a: shadow\n"), 0o644)
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.checkEvery = 0
	if s, _ := f.State(context.Background(), "a"); s != Shadow {
		t.Fatalf("a = %s", s)
	}
	os.WriteFile(path, []byte("customers:\n  a: live\n"), 0o644)
	later := time.Now().Add(time.Second)
	os.Chtimes(path, later, later)
	if s, _ := f.State(context.Background(), "a"); s != Live {
		t.Errorf("after the change a = %s, want live", s)
	}
	os.WriteFile(path, []byte("customers:\n  a: nonsense\n"), 0o644)
	later = later.Add(time.Second)
	os.Chtimes(path, later, later)
	if s, _ := f.State(context.Background(), "a"); s != Live || f.Err() == nil {
		t.Errorf("a broken file keeps the last good states and reports the error: %s, %v", s, f.Err())
	}
}
