package schema

import (
	"slices"
	"strings"
)

// Entry is a directory entry as the proxy reads it; every client library's
// result converts into it. Attribute names (the map keys) are matched
// case-insensitively, as LDAP does; values are kept as raw bytes.
type Entry struct {
	// DN is the entry's distinguished name, as returned by the server.
	DN string
	// Attributes maps attribute names to their values.
	Attributes map[string][][]byte
}

// Values returns the values of attr, whose name is matched
// case-insensitively. If the map holds the name in several spellings, the
// values of all of them are returned, spellings in sorted order. The result
// shares memory with e.
func (e Entry) Values(attr string) [][]byte {
	var keys []string
	for k := range e.Attributes {
		if strings.EqualFold(k, attr) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 1 {
		return e.Attributes[keys[0]]
	}
	slices.Sort(keys)
	var vals [][]byte
	for _, k := range keys {
		vals = append(vals, e.Attributes[k]...)
	}
	return vals
}

// First returns the first value of attr (matched case-insensitively) and
// whether there is one. All OATH-LDAP attributes slapo-otp reads are
// single-valued, and slapo-otp, too, uses the first value.
func (e Entry) First(attr string) ([]byte, bool) {
	vals := e.Values(attr)
	if len(vals) == 0 {
		return nil, false
	}
	return vals[0], true
}

// HasObjectClass reports whether e's objectClass holds class, compared
// case-insensitively. For the OATH-LDAP classes the class's OID matches,
// too, since some servers return a class as it was stored. Unlike slapd,
// subclasses do not count: ask for the concrete class (every OATH-LDAP
// class that an entry can carry is concrete).
func (e Entry) HasObjectClass(class string) bool {
	oid := classOIDs[strings.ToLower(class)]
	for _, v := range e.Values(AttrObjectClass) {
		s := string(v)
		if strings.EqualFold(s, class) || (oid != "" && s == oid) {
			return true
		}
	}
	return false
}
