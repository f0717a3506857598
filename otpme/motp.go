package otpme

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
	"time"
)

// mOTP (motp.sourceforge.net).
const (
	// MOTPStep is the mOTP time step.
	MOTPStep = 10 * time.Second
	// MOTPDigits is the length of an mOTP code (lowercase hex).
	MOTPDigits = 6
	// DefaultMOTPWindow is the window of a token without one: 18 steps
	// before and after now, the ±3 minutes of the mOTP reference server.
	DefaultMOTPWindow = 18
	// MaxMOTPWindow caps a token's window (one hour each way).
	MaxMOTPWindow = 360
)

// MOTPCode returns the mOTP code of secret and pin at t: the first 6
// characters of the lowercase hex MD5 of the decimal Unix time divided by
// 10 (rounded down), the secret and the PIN, concatenated.
func MOTPCode(secret, pin Secret, t time.Time) string {
	return string(motpAt(secret, pin, motpStep(t)))
}

// motpStep returns floor(t.Unix() / 10).
func motpStep(t time.Time) int64 {
	s := t.Unix()
	q := s / 10
	if s%10 != 0 && s < 0 {
		q--
	}
	return q
}

func motpAt(secret, pin []byte, step int64) []byte {
	in := append(strconv.AppendInt(nil, step, 10), secret...)
	sum := md5.Sum(append(in, pin...))
	clear(in)
	out := make([]byte, 2*len(sum))
	hex.Encode(out, sum[:])
	return out[:MOTPDigits]
}

// motpWindow returns the token's window, defaulted and capped.
func motpWindow(tok Token) int64 {
	switch {
	case tok.Window <= 0:
		return DefaultMOTPWindow
	case tok.Window > MaxMOTPWindow:
		return MaxMOTPWindow
	}
	return int64(tok.Window)
}

// motpMatch is the code of the window that matched.
type motpMatch struct {
	code []byte
	step int64
}

// matchMOTP computes every code of the token's window around now and
// compares expect(code) with password in constant time, without early exit.
// expect is the password a code stands for: the code itself, or the
// client trust password derived from it. A token without secret or PIN
// never matches: its codes would be public.
func matchMOTP(tok Token, password []byte, now time.Time, expect func(code []byte) []byte) (motpMatch, bool) {
	if len(tok.Secret) == 0 || len(tok.PIN) == 0 {
		return motpMatch{}, false
	}
	w, t := motpWindow(tok), motpStep(now)
	var m motpMatch
	found := 0
	for s := t - w; s <= t+w; s++ {
		code := motpAt(tok.Secret, tok.PIN, s)
		hit := subtle.ConstantTimeCompare(expect(code), password)
		if hit == 1 {
			m = motpMatch{code: code, step: s}
		}
		found |= hit
	}
	return m, found == 1
}

// usedUntil is how long a used code is remembered: until no window of a
// proxy whose clock is up to a window late can accept it.
func usedUntil(tok Token, step int64) time.Time {
	return time.Unix((step+2*motpWindow(tok)+1)*10, 0)
}
