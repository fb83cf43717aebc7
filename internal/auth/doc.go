// Package auth is the one bearer-token authentication of every Brooks HTTP
// surface: the component runner (internal/component) authenticates each
// request that is not public with it, and the handlers authorize what the
// principal may read.
//
// A token is 32 random bytes, base64url-encoded with the prefix "brk_". The
// tokens file (the api_tokens_file configuration key) stores only the
// SHA-256 of each token, with what it may read:
//
//	tokens:
//	  - id: 5d41402a           # first 8 hex digits of the hash, for people and logs
//	    customer: acme.example # a read token: only this customer's data
//	    sha256: 5d41402abc4b2a76b9719d911017c592...
//	    created: 2026-12-04T03:00:00Z
//	  - id: 7c211433
//	    admin: true            # an admin token: every customer, /metrics, admin endpoints
//	    sha256: 7c211433f02071597741e6ff5a8ea34789abbf43...
//
// `brooks token new --customer C|--admin` makes a token, prints it once and
// appends only its entry (Append): no token is ever written to the file.
// The file is re-read when it changes (at most once a second), so a new
// token works without a restart.
//
// Why SHA-256 and not bcrypt or argon2: the tokens are generated, never
// chosen by people, and carry 256 bits of entropy, so there is no dictionary
// to slow down and a fast hash is as safe as a slow one; a slow hash would
// add its cost (tens of milliseconds) to every query. Checking a token
// hashes it once and compares the digest with every stored digest in
// constant time (crypto/subtle), without stopping at the first match, so
// the time taken says nothing about which digest, if any, matched.
//
// Authentication and authorization are split: the runner calls
// Authenticate (401 on failure) and puts the Principal in the request's
// context (NewContext); a handler that serves one customer's data asks
// FromContext(ctx) and Principal.CanRead(customer) (403 otherwise, Forbid).
// Without a tokens file a runner serves on loopback only and every request
// carries the Loopback principal (admin).
//
// Usage:
//
//	toks, err := auth.Load(cfg.APITokensFile)
//	p, err := toks.Authenticate(r.Header.Get("Authorization")) // ErrUnauthenticated → 401
//	ctx = auth.NewContext(ctx, p)
//	...
//	if p, _ := auth.FromContext(ctx); !p.CanRead(customer) { auth.Forbid(w, p, customer) }
//
// Tokens are never logged and never part of an error; only the id of the
// entry that matched is.
package auth
