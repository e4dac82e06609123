package redisstore

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

var keyLayout = regexp.MustCompile(`^llmops:budget:\{([A-Za-z0-9_-]*)\}:-?[0-9]+(:h)?$`)

// FuzzKeys checks that every tenant id, however hostile, yields two keys
// with the documented layout and one hash tag, and that the tag decodes
// back to the id (so two ids never share keys).
func FuzzKeys(f *testing.F) {
	for _, seed := range []string{"a", "a}:{b", "{", "}", "a\nb", "\r\n", "\x00", "é", strings.Repeat("x", 256)} {
		f.Add(seed, int64(1769904000000))
	}
	s := &Store{prefix: DefaultPrefix}
	f.Fuzz(func(t *testing.T, tenant string, startMillis int64) {
		keys := s.keys(tenant, time.UnixMilli(startMillis))
		var tag string
		for i, k := range keys {
			m := keyLayout.FindStringSubmatch(k)
			if m == nil {
				t.Fatalf("key %d %q for tenant %q escapes the layout", i, k, tenant)
			}
			if i > 0 && m[1] != tag {
				t.Fatalf("keys of tenant %q carry different tags: %q", tenant, keys)
			}
			tag = m[1]
		}
		dec, err := base64.RawURLEncoding.DecodeString(tag)
		if err != nil || string(dec) != tenant {
			t.Fatalf("tag %q does not decode to tenant %q (%v)", tag, tenant, err)
		}
	})
}
