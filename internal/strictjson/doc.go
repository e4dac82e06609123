// Package strictjson checks that a JSON document is one object that
// encoding/json would decode without guessing: encoding/json matches field
// names case-insensitively, keeps the last of duplicate keys, leaves a field
// untouched on null, replaces invalid UTF-8 with U+FFFD, and (with
// json.Decoder) ignores what follows the first value. Check rejects all of
// that before a decoder sees the document.
package strictjson
