package proxy

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Secret holds a password, one-time code or key while it travels through
// the proxy. Its String, GoString, Format and LogValue print "[redacted]",
// so a Secret that ends up in a log line or an error by mistake leaks
// nothing. Use Bytes to reach the value and Zero when done with it.
type Secret struct{ b []byte }

// NewSecret wraps b (not copied).
func NewSecret(b []byte) Secret { return Secret{b: b} }

// Bytes returns the secret's bytes. The caller must not log them.
func (s Secret) Bytes() []byte { return s.b }

// Len returns the secret's length in bytes.
func (s Secret) Len() int { return len(s.b) }

// Empty reports whether the secret is empty.
func (s Secret) Empty() bool { return len(s.b) == 0 }

// Equal compares two secrets in constant time.
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s.b, o.b) == 1 }

// Zero overwrites the secret's bytes.
func (s Secret) Zero() { clear(s.b) }

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb prints "[redacted]".
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
