package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Local is a Sink on a local folder. An object is written to a hidden
// temporary file (".name.tmp-*") beside its final name; Commit fsyncs the
// file, renames it into place and fsyncs the folder (and, the first time,
// every new parent folder), so after a crash a key holds either the whole
// object or nothing. Hidden files are never listed: a temporary file left
// by a crash is not part of the archive and is safe to delete.
type Local struct {
	root string

	mu     sync.Mutex
	synced map[string]bool // folders whose entry in their parent was fsynced
}

// NewLocal returns a sink rooted at dir, creating it if needed.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("archive folder: empty path")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("archive folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("archive folder: %w", err)
	}
	return &Local{root: abs, synced: map[string]bool{abs: true}}, nil
}

// Root is the sink's folder.
func (l *Local) Root() string { return l.root }

func (l *Local) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// checkKey rejects keys that could escape the root or clash with
// temporary files.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("archive key %q: want a relative path like customer/day/hour/name", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return fmt.Errorf("archive key %q: empty, dot or hidden path segment", key)
		}
	}
	return nil
}

// Create implements Sink.
func (l *Local) Create(_ context.Context, key string) (Object, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600; archives are for reading
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &localObject{sink: l, f: f, final: p, key: key}, nil
}

// Open implements Sink.
func (l *Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", key, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	return f, nil
}

// List implements Sink.
func (l *Local) List(_ context.Context, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("list %q: prefix must be empty or end in /", prefix)
	}
	dir := l.root
	if prefix != "" {
		p, err := l.path(strings.TrimSuffix(prefix, "/"))
		if err != nil {
			return nil, err
		}
		dir = p
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if e.IsDir() {
			name += "/"
		}
		out = append(out, prefix+name)
	}
	sort.Strings(out)
	return out, nil
}

// syncParents fsyncs dir, then every folder between dir and the root
// that this process has not fsynced into its parent yet, so newly made
// folders survive a crash.
func (l *Local) syncParents(dir string) error {
	if err := syncDir(dir); err != nil {
		return err
	}
	for d := dir; ; d = filepath.Dir(d) {
		l.mu.Lock()
		done := l.synced[d]
		l.mu.Unlock()
		if done || d == filepath.Dir(d) {
			return nil
		}
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
		l.mu.Lock()
		l.synced[d] = true
		l.mu.Unlock()
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync folder %s: %w", dir, err)
	}
	return nil
}

type localObject struct {
	sink  *Local
	f     *os.File
	final string
	key   string
	done  bool
}

func (o *localObject) Write(p []byte) (int, error) { return o.f.Write(p) }

func (o *localObject) Commit(_ context.Context) error {
	if o.done {
		return fmt.Errorf("commit %s: already committed or aborted", o.key)
	}
	o.done = true
	tmp := o.f.Name()
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		os.Remove(tmp)
		return fmt.Errorf("commit %s: fsync: %w", o.key, err)
	}
	if err := o.f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("commit %s: close: %w", o.key, err)
	}
	if err := os.Rename(tmp, o.final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("commit %s: rename: %w", o.key, err)
	}
	if err := o.sink.syncParents(filepath.Dir(o.final)); err != nil {
		return fmt.Errorf("commit %s: %w", o.key, err)
	}
	return nil
}

func (o *localObject) Abort() error {
	if o.done {
		return nil
	}
	o.done = true
	o.f.Close()
	if err := os.Remove(o.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort %s: %w", o.key, err)
	}
	return nil
}
