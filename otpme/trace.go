package otpme

import (
	"fmt"
	"strings"
	"unicode"
)

// tracer collects the decision trace of one verification, if on. Its
// arguments are object names and numbers, never passwords or codes.
type tracer struct {
	on    bool
	lines []string
}

func (t *tracer) add(level, format string, args ...any) {
	if t.on {
		t.lines = append(t.lines, level+": "+printable(fmt.Sprintf(format, args...)))
	}
}

func (t *tracer) debug(format string, args ...any) { t.add("DEBUG", format, args...) }
func (t *tracer) info(format string, args ...any)  { t.add("INFO", format, args...) }
func (t *tracer) warn(format string, args ...any)  { t.add("WARNING", format, args...) }

// printable replaces unprintable characters (a user name is chosen by the
// caller) so that a trace line stays one line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}
