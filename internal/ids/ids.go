// Package ids mints the identifiers callplane hands out: call ids,
// participant ids, chain ids, message ids, request ids. Graph uses lowercase,
// dashed GUIDs for all of them, so callplane does too.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// New returns a time-ordered (version 7) UUID in its canonical lowercase
// form: 48 bits of Unix milliseconds, then 74 random bits. Ids made around
// the same time sort together, which keeps the store's indexes on them
// compact (a new or changed row touches the same few pages as its
// neighbours) where random ids would touch a page each.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(b[:6], ms[2:])
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Secret returns n random bytes, hex encoded: client secrets and admin
// credentials.
func Secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
