package httpmw

import (
	"bytes"
	"testing"
)

func FuzzLastNewline(f *testing.F) {
	for _, s := range []string{"", "\n", "a\nb", "\n\x0b\n\x0a\x0a", "abcdefgh\nabcdefgh", "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", "\x8a\n\x09\x0b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := lastNewline(b), bytes.LastIndexByte(b, '\n'); got != want {
			t.Fatalf("lastNewline(%q) = %d, want %d", b, got, want)
		}
	})
}
