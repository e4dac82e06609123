package httpmw

import (
	"bytes"
	"testing"
)

func FuzzLastNewline(f *testing.F) {
	for _, s := range []string{"", "\n", "a\nb", "\n\x0b\n\x0a\x0a", "abcdefgh\nabcdefgh", "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", "\x8a\n\x09\x0b"} {
		f.Add([]byte(s))
	}
	// Longer than one round of four words, with the newline in each word.
	for _, at := range []int{0, 7, 8, 15, 16, 23, 24, 31, 32, 39, 40, 70} {
		b := bytes.Repeat([]byte("x"), 72)
		b[at] = '\n'
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := lastNewline(b), bytes.LastIndexByte(b, '\n'); got != want {
			t.Fatalf("lastNewline(%q) = %d, want %d", b, got, want)
		}
	})
}
