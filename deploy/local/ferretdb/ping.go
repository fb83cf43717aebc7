package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"time"
)

// pingServer sends {ping: 1, $db: "admin"} as an OP_MSG and checks that the
// reply carries ok: 1.0. It speaks the wire protocol by hand so that the
// health check needs no MongoDB driver.
func pingServer(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err = conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}

	// BSON {ping: int32(1), $db: "admin"}.
	var doc bytes.Buffer
	doc.Write([]byte{0, 0, 0, 0})
	doc.WriteByte(0x10)
	doc.WriteString("ping\x00")
	doc.Write(le32(1))
	doc.WriteByte(0x02)
	doc.WriteString("$db\x00")
	doc.Write(le32(int32(len("admin") + 1)))
	doc.WriteString("admin\x00")
	doc.WriteByte(0)
	d := doc.Bytes()
	binary.LittleEndian.PutUint32(d, uint32(len(d)))

	// OP_MSG (2013): header, flagBits, one kind-0 section.
	var msg bytes.Buffer
	msg.Write(le32(int32(16 + 4 + 1 + len(d))))
	msg.Write(le32(1))    // requestID
	msg.Write(le32(0))    // responseTo
	msg.Write(le32(2013)) // opCode
	msg.Write(le32(0))    // flagBits
	msg.WriteByte(0)      // section kind 0: body
	msg.Write(d)
	if _, err = conn.Write(msg.Bytes()); err != nil {
		return err
	}

	var hdr [16]byte
	if _, err = io.ReadFull(conn, hdr[:]); err != nil {
		return err
	}
	n := int(binary.LittleEndian.Uint32(hdr[0:4]))
	if n < 16 || n > 1<<20 {
		return fmt.Errorf("bad reply length %d", n)
	}
	body := make([]byte, n-16)
	if _, err = io.ReadFull(conn, body); err != nil {
		return err
	}
	// Look for the element ok: double(1.0).
	want := append([]byte("\x01ok\x00"), make([]byte, 8)...)
	binary.LittleEndian.PutUint64(want[4:], math.Float64bits(1))
	if !bytes.Contains(body, want) {
		return fmt.Errorf("reply without ok: 1 (%d bytes)", len(body))
	}
	return nil
}

func le32(v int32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(v))
	return b
}
