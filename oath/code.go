package oath

import (
	"crypto/hmac"
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// MaxDigits is the longest code slapo-otp generates (oathOTPLength 1..8).
const MaxDigits = 8

// pow10 holds 10^d for d = 0..MaxDigits.
var pow10 = [MaxDigits + 1]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// Code returns the RFC 4226 code of key for counter: the HMAC of the 8-byte
// big-endian uint64(counter) (a negative counter wraps, as in slapo-otp),
// dynamic truncation to a 31-bit number, modulo 10^digits, left-padded with
// zeros to digits characters. TOTP codes are Code of the time step. Code
// returns "" if digits is outside 1..8 or alg is not a valid Algorithm.
func Code(alg Algorithm, key []byte, counter int64, digits int) string {
	if digits < 1 || digits > MaxDigits || !alg.valid() {
		return ""
	}
	g := newGenerator(alg, key)
	defer g.wipe()
	g.code(counter, digits)
	return string(g.out[:digits])
}

// generator computes codes for one key, reusing its HMAC state and buffers
// across the candidates of a window.
type generator struct {
	mac hash.Hash
	msg [8]byte
	sum [64]byte // large enough for SHA-512
	out [MaxDigits]byte
}

// newGenerator returns a generator for key; alg must be valid.
func newGenerator(alg Algorithm, key []byte) *generator {
	return &generator{mac: hmac.New(algorithms[alg].newHash, key)}
}

// code writes the digits-long code for counter into g.out[:digits]; digits
// must be 1..MaxDigits.
func (g *generator) code(counter int64, digits int) {
	binary.BigEndian.PutUint64(g.msg[:], uint64(counter))
	g.mac.Reset()
	g.mac.Write(g.msg[:])
	sum := g.mac.Sum(g.sum[:0])
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	n %= pow10[digits]
	for i := digits - 1; i >= 0; i-- {
		g.out[i] = byte('0' + n%10)
		n /= 10
	}
}

// matches returns 1 if code is the code for counter and 0 otherwise, in time
// that does not depend on the bytes of code (only on its length).
func (g *generator) matches(counter int64, digits int, code []byte) int {
	g.code(counter, digits)
	return subtle.ConstantTimeCompare(g.out[:digits], code)
}

// wipe zeroes the generator's buffers and drops its HMAC state. The key copy
// inside crypto/hmac cannot be zeroed; it becomes garbage.
func (g *generator) wipe() {
	clear(g.msg[:])
	clear(g.sum[:])
	clear(g.out[:])
	g.mac = nil
}

// lastMatch remembers the value recorded with the last match, without
// branching on whether a candidate matched.
type lastMatch struct {
	found int64 // all ones once any candidate matched, else 0
	value int64
}

// record stores v if match is 1 and leaves the state alone if match is 0.
func (m *lastMatch) record(match int, v int64) {
	mask := -int64(match)
	m.value = v&mask | m.value&^mask
	m.found |= mask
}

// add returns a+b and whether the sum did not overflow int64.
func add(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// VerifyCode reports, in constant time, whether code is the code of key for
// counter (its length is the number of digits). It applies no window and
// no replay rule: the proxy uses it to tell a replayed code from a wrong
// one after VerifyHOTP/VerifyTOTP refused it.
func VerifyCode(alg Algorithm, key []byte, counter int64, code []byte) bool {
	if len(code) < 1 || len(code) > MaxDigits || !alg.valid() {
		return false
	}
	g := newGenerator(alg, key)
	defer g.wipe()
	return g.matches(counter, len(code), code) == 1
}
