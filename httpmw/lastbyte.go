package httpmw

import (
	"encoding/binary"
	"math/bits"
)

// lastNewline returns the index of the last '\n' in b, or -1. It tests
// eight bytes at a time (bytes.LastIndexByte tests one), which matters
// because the SSE reader walks back over a line or two on every read.
func lastNewline(b []byte) int {
	const (
		low7 = 0x7f7f7f7f7f7f7f7f
		nl   = '\n' * 0x0101010101010101
	)
	i := len(b)
	for i >= 8 {
		w := binary.LittleEndian.Uint64(b[i-8:i]) ^ nl // a zero byte where b has '\n'
		// The high bit of each byte of m is set exactly when that byte of w
		// is zero (no carry crosses bytes: each byte's low 7 bits plus 0x7f
		// fits in the byte).
		if m := ^(((w & low7) + low7) | w | low7); m != 0 {
			return i - 8 + (63-bits.LeadingZeros64(m))/8
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
