package archive

import (
	"context"
	"errors"
	"io"
)

// Sink is where parts and manifests are stored: a local folder today, an
// object store (S3, GCS) tomorrow. Keys are slash-separated paths such as
// "acme.example/2026-11-25/10/p3-00000000000000001234.ndjson.gz".
//
// The archiver needs three things of a sink: an object is invisible until
// Commit returns, and then it is durable and complete (all or nothing); it
// can be read back; and keys can be listed one folder level at a time, like
// an object store's ListObjects with delimiter "/".
type Sink interface {
	// Create starts writing the object key. Nothing is visible under key
	// until Commit returns nil; Abort discards what was written.
	Create(ctx context.Context, key string) (Object, error)
	// Open reads a committed object.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the entries directly under prefix (which is "" or ends
	// in "/"), in lexical order: object keys, and sub-folders as keys
	// ending in "/".
	List(ctx context.Context, prefix string) ([]string, error)
}

// Object is an object being written.
type Object interface {
	io.Writer
	// Commit makes the object durable and visible under its key,
	// replacing any earlier object of that key.
	Commit(ctx context.Context) error
	// Abort discards the object; it is safe after Commit (a no-op).
	Abort() error
}

// ErrNotExist is returned by Open for a key that holds no object.
var ErrNotExist = errors.New("archive: object does not exist")
