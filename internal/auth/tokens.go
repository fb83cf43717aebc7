package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
)

// TokenPrefix starts every token Brooks issues.
const TokenPrefix = "brk_"

// ErrUnauthenticated is returned for a missing, malformed or unknown token.
var ErrUnauthenticated = errors.New("unauthenticated")

// Entry is one token of the tokens file: its hash and what it may read.
type Entry struct {
	ID       string    `yaml:"id"`
	Customer string    `yaml:"customer,omitempty"`
	Admin    bool      `yaml:"admin,omitempty"`
	SHA256   string    `yaml:"sha256"`
	Created  time.Time `yaml:"created,omitempty"`
}

type file struct {
	Tokens []Entry `yaml:"tokens"`
}

// Principal is who a request's token says the caller is.
type Principal struct {
	// ID is the token entry's id (never the token).
	ID       string
	Customer string
	Admin    bool
}

// CanRead reports whether p may read customer's data.
func (p Principal) CanRead(customer string) bool { return p.Admin || p.Customer == customer }

// Tokens is a set of token hashes, from a file (Load) or built in code
// (New). It is safe for concurrent use.
type Tokens struct {
	mu      sync.RWMutex
	entries []Entry
	digests [][sha256.Size]byte

	// path, when set, is re-read when it changes (checked at most once a
	// second), so `brooks token new` takes effect without a restart.
	path    string
	modTime time.Time
	checked atomic.Int64 // unix nanoseconds of the last check
	lastErr error
}

// Load reads a tokens file, and re-reads it when it changes. A missing file
// is an error: a component without tokens would refuse every request. A file
// that becomes invalid keeps the last good tokens (Err says why).
func Load(path string) (*Tokens, error) {
	t := &Tokens{path: path}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tokens) reload() error {
	st, err := os.Stat(t.path)
	if err != nil {
		return fmt.Errorf("tokens file: %w (create one with `brooks token new`)", err)
	}
	t.mu.RLock()
	same := st.ModTime().Equal(t.modTime) && t.digests != nil
	t.mu.RUnlock()
	if same {
		return nil
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	n, err := Parse(data)
	if err != nil {
		return fmt.Errorf("tokens file %s: %w", t.path, err)
	}
	t.mu.Lock()
	t.entries, t.digests, t.modTime = n.entries, n.digests, st.ModTime()
	if t.digests == nil {
		t.digests = [][sha256.Size]byte{}
	}
	t.mu.Unlock()
	return nil
}

// maybeReload re-reads the file at most once a second.
func (t *Tokens) maybeReload() {
	if t.path == "" {
		return
	}
	now := time.Now().UnixNano()
	last := t.checked.Load()
	if now-last < int64(time.Second) || !t.checked.CompareAndSwap(last, now) {
		return
	}
	err := t.reload()
	t.mu.Lock()
	t.lastErr = err
	t.mu.Unlock()
}

// Err is the error of the last re-read of the file, if it failed.
func (t *Tokens) Err() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.lastErr
}

// Parse parses the tokens file format (see the package comment).
func Parse(data []byte) (*Tokens, error) {
	var f file
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file, no tokens
		return nil, parseError(err)
	}
	return New(f.Tokens...)
}

var yamlLine = regexp.MustCompile(`line \d+`)

// parseError says where a tokens file is wrong without repeating any of
// its values: a file in the wrong format may hold a plaintext token (the
// old one-token-a-line file), and YAML errors quote values. Unknown field
// names are kept.
func parseError(err error) error {
	var where []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			if strings.Contains(e, " not found in type ") {
				where = append(where, e) // "line 2: field token not found in type auth.Entry"
			} else if l := yamlLine.FindString(e); l != "" {
				where = append(where, l+": a value of the wrong type")
			}
		}
	} else if l := yamlLine.FindString(err.Error()); l != "" {
		where = append(where, l)
	}
	if len(where) == 0 {
		where = append(where, "a value of the wrong type")
	}
	return fmt.Errorf("parse: not a tokens file (%s): want tokens: entries of id, customer or admin: true, sha256 (values are not shown: they could be secrets)", strings.Join(where, "; "))
}

// New checks entries and indexes them.
func New(entries ...Entry) (*Tokens, error) {
	t := &Tokens{}
	seen := map[string]bool{}
	for i, e := range entries {
		where := fmt.Sprintf("token #%d (id %q)", i+1, e.ID)
		b, err := hex.DecodeString(e.SHA256)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%s: sha256: want %d hex digits", where, 2*sha256.Size)
		}
		if e.Admin == (e.Customer != "") {
			return nil, fmt.Errorf("%s: give either customer or admin: true", where)
		}
		if seen[e.SHA256] {
			return nil, fmt.Errorf("%s: the same token is listed twice", where)
		}
		seen[e.SHA256] = true
		var d [sha256.Size]byte
		copy(d[:], b)
		t.entries = append(t.entries, e)
		t.digests = append(t.digests, d)
	}
	return t, nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.entries)
}

// Authenticate checks an Authorization header value ("Bearer <token>").
// Its only error is ErrUnauthenticated (wrapped with what was wrong, never
// with the token).
func (t *Tokens) Authenticate(header string) (Principal, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, fmt.Errorf("%w: want an Authorization: Bearer <token> header", ErrUnauthenticated)
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return Principal{}, fmt.Errorf("%w: empty bearer token", ErrUnauthenticated)
	}
	t.maybeReload()
	d := sha256.Sum256([]byte(tok))
	t.mu.RLock()
	defer t.mu.RUnlock()
	match := -1
	for i := range t.digests {
		// Every digest is compared; no early exit.
		if subtle.ConstantTimeCompare(d[:], t.digests[i][:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return Principal{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	e := t.entries[match]
	return Principal{ID: e.ID, Customer: e.Customer, Admin: e.Admin}, nil
}

// NewToken makes a fresh token and its entry. The token is shown once to
// whoever asked for it; only the entry is stored.
func NewToken(customer string, admin bool, now time.Time) (string, Entry, error) {
	if admin == (customer != "") {
		return "", Entry{}, errors.New("new token: give either a customer or admin")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Entry{}, fmt.Errorf("new token: %w", err)
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	d := sha256.Sum256([]byte(tok))
	h := hex.EncodeToString(d[:])
	return tok, Entry{ID: h[:8], Customer: customer, Admin: admin, SHA256: h, Created: now.UTC().Truncate(time.Second)}, nil
}

// Append adds an entry to the tokens file at path (created when missing),
// rewriting it atomically with mode 0600.
func Append(path string, e Entry) error {
	var f file
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		t, err := Parse(data)
		if err != nil {
			return fmt.Errorf("tokens file %s: %w", path, err)
		}
		f.Tokens = t.entries // a fresh parse: no one else holds it
	case errors.Is(err, os.ErrNotExist):
	default:
		return fmt.Errorf("tokens file: %w", err)
	}
	f.Tokens = append(f.Tokens, e)
	if _, err := New(f.Tokens...); err != nil {
		return err
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode tokens: %w", err)
	}
	out = append([]byte("# Brooks bearer tokens: SHA-256 hashes only (see internal/auth). Add with `brooks token new`.\n"), out...)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}
