package rawstore

import (
	"hash/maphash"
	"math/bits"
)

// bloom is a scalable Bloom filter of strings: a chain of fixed-size
// blocks, a new one begun when the last is full, so it needs no size up
// front. With 10 bits and 7 probes per entry, a block answers "maybe" for
// an absent key about 1 % of the time; the chain's rate is the sum over
// its blocks.
type bloom struct {
	blocks []*bloomBlock
}

const (
	blockEntries = 1 << 20
	blockBits    = blockEntries * 10
	bloomProbes  = 7
)

type bloomBlock struct {
	bits []uint64
	n    int
}

var bloomSeed = maphash.MakeSeed()

func hash2(s string) (uint64, uint64) {
	h := maphash.String(bloomSeed, s)
	return h, bits.RotateLeft64(h, 32) | 1
}

func (b *bloom) add(s string) {
	if len(b.blocks) == 0 || b.blocks[len(b.blocks)-1].n >= blockEntries {
		b.blocks = append(b.blocks, &bloomBlock{bits: make([]uint64, blockBits/64)})
	}
	blk := b.blocks[len(b.blocks)-1]
	h1, h2 := hash2(s)
	for i := uint64(0); i < bloomProbes; i++ {
		p := (h1 + i*h2) % blockBits
		blk.bits[p/64] |= 1 << (p % 64)
	}
	blk.n++
}

// mayContain is false only if s was never added.
func (b *bloom) mayContain(s string) bool {
	h1, h2 := hash2(s)
	for _, blk := range b.blocks {
		in := true
		for i := uint64(0); i < bloomProbes; i++ {
			p := (h1 + i*h2) % blockBits
			if blk.bits[p/64]&(1<<(p%64)) == 0 {
				in = false
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}

// entries is the number of keys added.
func (b *bloom) entries() int {
	n := 0
	for _, blk := range b.blocks {
		n += blk.n
	}
	return n
}
