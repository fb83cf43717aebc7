package rawstore

import (
	"fmt"
	"testing"
)

func TestBloom(t *testing.T) {
	var b bloom
	const n = 3*blockEntries/2 + 7 // spans two blocks
	for i := range n {
		b.add(fmt.Sprintf("in-%d", i))
	}
	if len(b.blocks) != 2 || b.entries() != n {
		t.Fatalf("%d blocks, %d entries", len(b.blocks), b.entries())
	}
	for i := range n {
		if !b.mayContain(fmt.Sprintf("in-%d", i)) {
			t.Fatalf("in-%d added but not found", i)
		}
	}
	fp := 0
	const probes = 200000
	for i := range probes {
		if b.mayContain(fmt.Sprintf("out-%d", i)) {
			fp++
		}
	}
	// Two blocks, each about 1 % (the second is half full: less).
	if rate := float64(fp) / probes; rate > 0.025 {
		t.Errorf("false positive rate %.4f", rate)
	} else {
		t.Logf("false positive rate %.4f over two blocks", rate)
	}
	var empty bloom
	if empty.mayContain("x") {
		t.Error("empty filter contains x")
	}
}
