package otpme

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Secret is a password, one-time code or key. Its String, GoString, Format
// and LogValue print "[redacted]", so a Secret that reaches a log line, an
// error or a trace by mistake leaks nothing. Convert with Secret(b) and
// []byte(s).
type Secret []byte

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb prints "[redacted]".
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Equal compares s and o in constant time (for equal lengths).
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s, o) == 1 }

// Zero overwrites the secret's bytes.
func (s Secret) Zero() { clear(s) }
