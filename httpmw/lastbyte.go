package httpmw

import (
	"encoding/binary"
	"math/bits"
)

// lastNewline returns the index of the last '\n' in b, or -1. It tests
// eight bytes at a time (bytes.LastIndexByte tests one), four words per
// round, which matters because the SSE reader walks back over a line or
// two on every read.
func lastNewline(b []byte) int {
	i := len(b)
	for i >= 32 {
		w := b[i-32 : i : i]
		m3 := nlMask(binary.LittleEndian.Uint64(w[24:]))
		m2 := nlMask(binary.LittleEndian.Uint64(w[16:]))
		m1 := nlMask(binary.LittleEndian.Uint64(w[8:]))
		m0 := nlMask(binary.LittleEndian.Uint64(w[0:]))
		if m3|m2|m1|m0 != 0 {
			switch {
			case m3 != 0:
				return i - 8 + lastByteOf(m3)
			case m2 != 0:
				return i - 16 + lastByteOf(m2)
			case m1 != 0:
				return i - 24 + lastByteOf(m1)
			}
			return i - 32 + lastByteOf(m0)
		}
		i -= 32
	}
	for i >= 8 {
		if m := nlMask(binary.LittleEndian.Uint64(b[i-8 : i])); m != 0 {
			return i - 8 + lastByteOf(m)
		}
		i -= 8
	}
	for i--; i >= 0; i-- {
		if b[i] == '\n' {
			return i
		}
	}
	return -1
}

// nlMask returns a word with the high bit of each byte set exactly where
// the little-endian word w holds '\n'.
func nlMask(w uint64) uint64 {
	const (
		low7 = 0x7f7f7f7f7f7f7f7f
		nl   = '\n' * 0x0101010101010101
	)
	w ^= nl // a zero byte where the word has '\n'
	// The high bit of each byte is set exactly when that byte of w is zero
	// (no carry crosses bytes: each byte's low 7 bits plus 0x7f fits in the
	// byte).
	return ^(((w & low7) + low7) | w | low7)
}

// lastByteOf returns the index, within its word, of the last byte marked
// in a non-zero mask made by nlMask.
func lastByteOf(m uint64) int { return (63 - bits.LeadingZeros64(m)) / 8 }
