package archive

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalObjectIsInvisibleUntilCommit(t *testing.T) {
	ctx := context.Background()
	sink, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := "acme.example/2026-11-25/10/p0-00000000000000000001.ndjson.gz"
	obj, err := sink.Create(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(obj, "hello\n")
	if _, err := sink.Open(ctx, key); !errors.Is(err, ErrNotExist) {
		t.Fatalf("open before commit: %v, want ErrNotExist", err)
	}
	if keys, _ := sink.List(ctx, "acme.example/2026-11-25/10/"); len(keys) != 0 {
		t.Fatalf("list before commit shows %v (temporary files must be hidden)", keys)
	}
	if err := obj.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := obj.Commit(ctx); err == nil {
		t.Error("second commit succeeded")
	}
	rc, err := sink.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello\n" {
		t.Errorf("read %q", b)
	}
	// No temporary file is left behind.
	ents, _ := os.ReadDir(filepath.Join(sink.Root(), "acme.example/2026-11-25/10"))
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want 1", len(ents))
	}
}

func TestLocalAbortLeavesNothing(t *testing.T) {
	ctx := context.Background()
	sink, _ := NewLocal(t.TempDir())
	obj, err := sink.Create(ctx, "c/d/h/x")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(obj, "partial")
	if err := obj.Abort(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(sink.Root(), "c/d/h"))
	if len(ents) != 0 {
		t.Errorf("abort left %d files", len(ents))
	}
	if err := obj.Abort(); err != nil {
		t.Errorf("second abort: %v", err)
	}
}

func TestLocalListIsOneLevelAndSorted(t *testing.T) {
	ctx := context.Background()
	sink, _ := NewLocal(t.TempDir())
	for _, k := range []string{"b/2026-11-25/10/p1-x", "a/2026-11-25/10/p0-x", "a/2026-11-25/09/p0-x", "a/top"} {
		obj, err := sink.Create(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := obj.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A crash leftover: hidden, never listed.
	os.WriteFile(filepath.Join(sink.Root(), "a", ".junk.tmp-1"), nil, 0o644)
	tests := []struct{ prefix, want string }{
		{"", "a/,b/"},
		{"a/", "a/2026-11-25/,a/top"},
		{"a/2026-11-25/", "a/2026-11-25/09/,a/2026-11-25/10/"},
		{"zzz/", ""},
	}
	for _, tc := range tests {
		got, err := sink.List(ctx, tc.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("List(%q) = %v, want %s", tc.prefix, got, tc.want)
		}
	}
	if _, err := sink.List(ctx, "a"); err == nil {
		t.Error("a prefix without / was accepted")
	}
}

func TestLocalRejectsBadKeys(t *testing.T) {
	sink, _ := NewLocal(t.TempDir())
	for _, k := range []string{"", "/abs", "a/../b", "a//b", "a/.hidden", "dir/", "./a"} {
		if _, err := sink.Create(context.Background(), k); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}
