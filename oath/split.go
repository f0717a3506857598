package oath

// Split splits a simple-bind credential as slapo-otp does: otp is the last
// digits bytes of cred, static everything before it (possibly empty). Bytes,
// not characters: no trimming, no separator, no UTF-8 awareness. ok is false
// if digits is outside 1..8 or cred is shorter than digits.
//
// Both results alias cred (static is capped, so appending to it cannot
// overwrite otp); zeroing cred zeroes them too.
func Split(cred []byte, digits int) (static, otp []byte, ok bool) {
	if digits < 1 || digits > MaxDigits || len(cred) < digits {
		return nil, nil, false
	}
	n := len(cred) - digits
	return cred[:n:n], cred[n:], true
}
