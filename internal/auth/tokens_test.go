package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAuthenticate(t *testing.T) {
	admin, ae, err := NewToken("", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	acme, ce, err := NewToken("acme.example", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	toks, err := New(ae, ce)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, header string
		want         Principal
		err          bool
	}{
		{"admin", "Bearer " + admin, Principal{ID: ae.ID, Admin: true}, false},
		{"customer", "Bearer " + acme, Principal{ID: ce.ID, Customer: "acme.example"}, false},
		{"scheme case", "bearer " + acme, Principal{ID: ce.ID, Customer: "acme.example"}, false},
		{"no header", "", Principal{}, true},
		{"basic", "Basic " + acme, Principal{}, true},
		{"empty token", "Bearer ", Principal{}, true},
		{"wrong token", "Bearer " + acme + "x", Principal{}, true},
		{"hash instead of token", "Bearer " + ce.SHA256, Principal{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := toks.Authenticate(tt.header)
			if (err != nil) != tt.err || p != tt.want {
				t.Fatalf("Authenticate = %+v, %v; want %+v, err %v", p, err, tt.want, tt.err)
			}
			if err != nil && (!errors.Is(err, ErrUnauthenticated) || strings.Contains(err.Error(), acme)) {
				t.Errorf("error %q: not ErrUnauthenticated or repeats the token", err)
			}
		})
	}
	if p, _ := toks.Authenticate("Bearer " + acme); !p.CanRead("acme.example") || p.CanRead("globex.example") {
		t.Error("a customer token reads only its customer")
	}
	if p, _ := toks.Authenticate("Bearer " + admin); !p.CanRead("globex.example") {
		t.Error("an admin token reads every customer")
	}
}

func TestTokensFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	var plain []string
	for _, c := range []string{"acme.example", ""} {
		tok, e, err := NewToken(c, c == "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 {
			t.Fatalf("token %q: want %s and 43 base64url characters", tok, TokenPrefix)
		}
		if err := Append(path, e); err != nil {
			t.Fatal(err)
		}
		plain = append(plain, tok)
	}
	data, _ := os.ReadFile(path)
	for _, tok := range plain {
		if strings.Contains(string(data), tok) {
			t.Fatal("the tokens file holds a token, not only its hash")
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	toks, err := Load(path)
	if err != nil || toks.Len() != 2 {
		t.Fatalf("Load = %v, %v", toks, err)
	}
	for _, tok := range plain {
		if _, err := toks.Authenticate("Bearer " + tok); err != nil {
			t.Errorf("token from the file: %v", err)
		}
	}
	// A token added while the file is loaded counts within a second.
	tok, e, _ := NewToken("globex.example", false, time.Now())
	if err := Append(path, e); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(path, later, later)
	toks.checked.Store(0)
	if p, err := toks.Authenticate("Bearer " + tok); err != nil || p.Customer != "globex.example" {
		t.Errorf("token added to the file: %+v, %v", p, err)
	}
}

func TestParseErrors(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct{ name, file, want string }{
		{"bad hash", "tokens:\n  - {id: x, customer: a, sha256: zz}", "sha256"},
		{"neither", "tokens:\n  - {id: x, sha256: " + h + "}", "either customer or admin"},
		{"both", "tokens:\n  - {id: x, customer: a, admin: true, sha256: " + h + "}", "either customer or admin"},
		{"twice", "tokens:\n  - {id: x, customer: a, sha256: " + h + "}\n  - {id: y, customer: b, sha256: " + h + "}", "twice"},
		{"unknown field", "tokens:\n  - {id: x, token: abc, customer: a, sha256: " + h + "}", "token"},
		{"plaintext tokens, one a line (the old api_tokens_file)", "s3cret-token\nother-token\n", "parse"},
		{"a token where its hash goes", "tokens:\n  - {id: x, customer: a, sha256: brk_" + strings.Repeat("A", 43) + "}", "sha256"},
		{"a token where a time goes", "tokens:\n  - {id: x, customer: a, sha256: " + h + ", created: brk_" + strings.Repeat("A", 43) + "}", "not a tokens file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want an error containing %q", err, tt.want)
			}
			for _, secret := range []string{"s3cret", "brk_", "abc"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error %q repeats a value of the file", err)
				}
			}
		})
	}
	if toks, err := Parse(nil); err != nil || toks.Len() != 0 {
		t.Errorf("empty file: %v, %v", toks, err)
	}
}

// BenchmarkAuthenticate is the cost the runner adds to every request: one
// SHA-256 and a constant-time compare with every stored digest.
func BenchmarkAuthenticate(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("%d tokens", n), func(b *testing.B) {
			var entries []Entry
			var tok string
			for i := 0; i < n; i++ {
				t, e, err := NewToken(fmt.Sprintf("c%d.example", i), false, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				tok, entries = t, append(entries, e)
			}
			toks, err := New(entries...)
			if err != nil {
				b.Fatal(err)
			}
			header := "Bearer " + tok
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := toks.Authenticate(header); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
