package slapdtest

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// entry is one LDIF record to add.
type entry struct {
	DN    string
	Attrs []attribute // in the order of first appearance
}

// attribute is one attribute description with its values in LDIF order.
type attribute struct {
	Name   string
	Values []string
}

// add appends value to the attribute called name (case-insensitive),
// creating it if needed.
func (e *entry) add(name, value string) {
	for i := range e.Attrs {
		if strings.EqualFold(e.Attrs[i].Name, name) {
			e.Attrs[i].Values = append(e.Attrs[i].Values, value)
			return
		}
	}
	e.Attrs = append(e.Attrs, attribute{Name: name, Values: []string{value}})
}

// set replaces every value of the attribute called name with value.
func (e *entry) set(name, value string) {
	for i := range e.Attrs {
		if strings.EqualFold(e.Attrs[i].Name, name) {
			e.Attrs[i].Values = []string{value}
			return
		}
	}
	e.add(name, value)
}

// parseLDIF parses the subset of LDIF (RFC 2849) that tests write: records
// separated by blank lines, each "dn:" first and then "attr: value" or
// "attr:: base64" lines; lines starting with one space continue the
// previous line; "#" lines are comments; "version: 1" and
// "changetype: add" are accepted and ignored. Anything else (other change
// types, "attr:< URL") is an error, so a test never loads less than it
// wrote.
func parseLDIF(text string) ([]entry, error) {
	var (
		entries []entry
		cur     *entry
	)
	for i, line := range unfold(text) {
		switch {
		case line == "":
			cur = nil
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		name, value, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("ldif logical line %d: %w", i+1, err)
		}
		switch {
		case cur == nil && strings.EqualFold(name, "version") && len(entries) == 0:
			continue
		case cur == nil && !strings.EqualFold(name, "dn"):
			return nil, fmt.Errorf("ldif logical line %d: record starts with %q, want dn", i+1, name)
		case cur == nil:
			entries = append(entries, entry{DN: value})
			cur = &entries[len(entries)-1]
		case strings.EqualFold(name, "changetype") && strings.EqualFold(value, "add"):
		case strings.EqualFold(name, "changetype"):
			return nil, fmt.Errorf("ldif entry %q: changetype %q is not supported (only add)", cur.DN, value)
		default:
			cur.add(name, value)
		}
	}
	return entries, nil
}

// unfold splits text into logical lines: it joins continuation lines
// (leading space removed) and turns whitespace-only lines into blank ones.
func unfold(text string) []string {
	var lines []string
	for _, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		n := len(lines)
		switch {
		case strings.TrimSpace(raw) == "":
			lines = append(lines, "")
		case raw[0] == ' ' && n > 0 && lines[n-1] != "":
			lines[n-1] += raw[1:]
		default:
			lines = append(lines, raw)
		}
	}
	return lines
}

// parseLine splits "name: value" and decodes "name:: base64".
func parseLine(line string) (name, value string, err error) {
	if line == "-" {
		return "", "", errors.New(`"-" separators (changetype: modify) are not supported`)
	}
	name, rest, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return "", "", fmt.Errorf("%q is not \"attr: value\"", line)
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", "", fmt.Errorf("attribute %s: bad base64: %w", name, err)
		}
		return name, string(b), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", fmt.Errorf("attribute %s: URL values (\":<\") are not supported", name)
	}
	return name, strings.TrimLeft(rest, " "), nil
}

// SSHA returns password hashed as slapd's {SSHA} userPassword scheme
// (salted SHA-1, 8 random bytes of salt), for seeding users in tests.
func SSHA(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}
