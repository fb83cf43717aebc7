package archive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
)

// segKey names an open part within a partition: one customer, one hour.
type segKey struct {
	customer string
	hour     time.Time
}

// segment is an open part: records are compressed into a sink object as
// they arrive; close makes the part and its manifest durable.
type segment struct {
	key       segKey
	partition int
	first     int64
	last      int64
	opened    time.Time

	obj   Object
	count *countingWriter
	sum   hash.Hash
	buf   *bufio.Writer
	gz    *gzip.Writer

	events   int64
	invalid  int64
	rawBytes int64
	tally    ledger.Tally
	objKey   string
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// openSegment starts the part of key on partition at offset first.
func openSegment(ctx context.Context, sink Sink, key segKey, partition int, first int64, level int, now time.Time) (*segment, error) {
	objKey := PartKey(key.customer, key.hour, partition, first)
	obj, err := sink.Create(ctx, objKey)
	if err != nil {
		return nil, fmt.Errorf("open part: %w", err)
	}
	s := &segment{key: key, partition: partition, first: first, last: first, opened: now, obj: obj, sum: sha256.New(), objKey: objKey}
	s.count = &countingWriter{w: io.MultiWriter(obj, s.sum)}
	s.buf = bufio.NewWriterSize(s.count, 64<<10)
	s.gz, err = gzip.NewWriterLevel(s.buf, level)
	if err != nil {
		obj.Abort()
		return nil, fmt.Errorf("open part: %w", err)
	}
	return s, nil
}

// add writes one record value as a line. eid is "" for invalid records.
func (s *segment) add(offset int64, value []byte, eid string) error {
	if bytes.IndexByte(value, '\n') >= 0 {
		// JSON encoders never emit raw newlines, but a foreign producer
		// might: keep one record per line.
		value = bytes.ReplaceAll(value, []byte("\n"), []byte(" "))
	}
	if _, err := s.gz.Write(value); err != nil {
		return fmt.Errorf("write part %s: %w", s.objKey, err)
	}
	if _, err := s.gz.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("write part %s: %w", s.objKey, err)
	}
	s.last = offset
	s.events++
	s.rawBytes += int64(len(value)) + 1
	if eid == "" {
		s.invalid++
	} else {
		s.tally.Add(eid)
	}
	return nil
}

// close makes the part durable, then its manifest, and returns the
// manifest. On error nothing of the part is in the archive (a part without
// a manifest is not part of it).
func (s *segment) close(ctx context.Context, sink Sink, topic, reason, writer string, now time.Time) (*Manifest, error) {
	if err := s.gz.Close(); err != nil {
		s.obj.Abort()
		return nil, fmt.Errorf("close part %s: %w", s.objKey, err)
	}
	if err := s.buf.Flush(); err != nil {
		s.obj.Abort()
		return nil, fmt.Errorf("close part %s: %w", s.objKey, err)
	}
	if err := s.obj.Commit(ctx); err != nil {
		return nil, fmt.Errorf("close part: %w", err)
	}
	m := &Manifest{
		Version:     ManifestVersion,
		Key:         s.objKey,
		Customer:    s.key.customer,
		Hour:        s.key.hour,
		Topic:       topic,
		Partition:   s.partition,
		FirstOffset: s.first,
		LastOffset:  s.last,
		Events:      s.events,
		Bytes:       s.count.n,
		RawBytes:    s.rawBytes,
		SHA256:      hex.EncodeToString(s.sum.Sum(nil)),
		EIDHash:     HashHex(s.tally.Hash),
		Invalid:     s.invalid,
		CreatedAt:   now.UTC(),
		Reason:      reason,
		Writer:      writer,
	}
	if err := writeManifest(ctx, sink, m); err != nil {
		return nil, fmt.Errorf("close part: %w", err)
	}
	return m, nil
}
