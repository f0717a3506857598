package proxy

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The user index answers "is this bind DN an OTP user?" without asking the
// directory, so it must never answer "no" for a DN the directory would
// resolve to an OTP user's entry. It therefore compares DNs by a key that
// is coarser than the directory's own DN matching: two DNs the directory
// takes for the same entry always get the same key, while two different
// entries may share one (a bind to either then reads its entry, as without
// the index). A DN whose key cannot be made safely — an attribute type the
// schema does not know, an equality rule the key cannot fold, a value in
// BER (#…) or quoted form, anything unusual — has no key, and its bind
// reads its entry.

// namingRules is what dnKey needs of the directory's schema: the OID of
// every attribute type by each of its names, and whether the type's
// equality rule is one the key folds safely.
type namingRules struct {
	oid      map[string]string // lower-case name or OID → OID
	foldable map[string]bool   // OID → equality rule in foldableRules
}

// foldableRules are the equality matching rules under which two equal
// values always have the same folded form (fold below): the string rules
// fold case and compatibility forms and ignore spaces, the numeric and
// telephone rules ignore punctuation, integerMatch ignores leading zeros,
// and exact rules are covered because fold is a function of the value.
var foldableRules = map[string]bool{
	"caseignorematch": true, "caseexactmatch": true,
	"caseignoreia5match": true, "caseexactia5match": true,
	"numericstringmatch": true, "telephonenumbermatch": true,
	"integermatch": true, "octetstringmatch": true,
	"2.5.13.2": true, "2.5.13.5": true, "1.3.6.1.4.1.1466.109.114.2": true,
	"1.3.6.1.4.1.1466.109.114.1": true, "2.5.13.8": true, "2.5.13.20": true,
	"2.5.13.14": true, "2.5.13.17": true,
}

// parseNamingRules builds namingRules from the attributeTypes values of a
// subschema entry (RFC 4512 §4.1.2). Types whose description cannot be
// parsed are left out: their DNs then have no key.
func parseNamingRules(attributeTypes []string) namingRules {
	type def struct{ sup, equality string }
	r := namingRules{oid: map[string]string{}, foldable: map[string]bool{}}
	defs := map[string]def{}
	for _, v := range attributeTypes {
		oid, names, fields, ok := parseSchemaDescription(v)
		if !ok {
			continue
		}
		r.oid[strings.ToLower(oid)] = oid
		for _, n := range names {
			r.oid[strings.ToLower(n)] = oid
		}
		defs[oid] = def{sup: fields["SUP"], equality: fields["EQUALITY"]}
	}
	for oid := range defs {
		d, seen := defs[oid], 0
		for d.equality == "" && d.sup != "" && seen < 16 { // inherited from SUP
			d, seen = defs[r.oid[strings.ToLower(d.sup)]], seen+1
		}
		r.foldable[oid] = foldableRules[strings.ToLower(d.equality)]
	}
	return r
}

// parseSchemaDescription splits "( OID NAME ( 'a' 'b' ) KEY value … )" into
// the OID, the names and the other single-valued fields.
func parseSchemaDescription(s string) (oid string, names []string, fields map[string]string, ok bool) {
	toks := schemaTokens(s)
	if len(toks) < 3 || toks[0] != "(" || toks[len(toks)-1] != ")" {
		return "", nil, nil, false
	}
	toks = toks[1 : len(toks)-1]
	oid, toks = toks[0], toks[1:]
	fields = map[string]string{}
	for len(toks) > 0 {
		key := toks[0]
		toks = toks[1:]
		var vals []string
		switch {
		case len(toks) > 0 && toks[0] == "(":
			end := slices.Index(toks, ")")
			if end < 0 {
				return "", nil, nil, false
			}
			vals, toks = toks[1:end], toks[end+1:]
		case len(toks) > 0 && !isSchemaKeyword(toks[0]):
			vals, toks = toks[:1], toks[1:]
		}
		if key == "NAME" {
			names = slices.DeleteFunc(vals, func(v string) bool { return v == "$" })
		} else if len(vals) > 0 {
			fields[key] = strings.Trim(vals[0], "'")
		}
	}
	for i, n := range names {
		names[i] = strings.Trim(n, "'")
	}
	return oid, names, fields, true
}

// isSchemaKeyword reports whether a token is a field keyword (NAME, SUP,
// SINGLE-VALUE, X-ORIGIN, …) rather than a value.
func isSchemaKeyword(t string) bool {
	return t != "" && t[0] != '\'' && t == strings.ToUpper(t) && strings.Trim(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") == ""
}

// schemaTokens splits a schema description into parentheses, quoted
// strings (quotes kept) and words.
func schemaTokens(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, s[i:i+1])
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil
			}
			toks = append(toks, s[i:i+end+2])
			i += end + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()'", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

// dnKey returns the key of dn under r, or ok == false when dn has no safe
// key. The key lists the RDNs in order, each as its AVAs sorted, each AVA
// as the type's OID and the folded value.
func (r namingRules) dnKey(dn string) (key string, ok bool) {
	var buf [256]byte
	k, ok := r.appendDNKey(buf[:0], dn)
	if !ok {
		return "", false
	}
	return string(k), true
}

// appendDNKey appends dn's key (see dnKey) to dst. A lookup that keys into
// a stack buffer allocates nothing for a DN of single-valued RDNs in plain
// ASCII without escapes, which is what binds send.
func (r namingRules) appendDNKey(dst []byte, dn string) ([]byte, bool) {
	if dn == "" {
		return dst, false
	}
	for rdn := range strings.SplitSeq(dn, ",") {
		// An escaped separator splits a value here; such a DN is refused by
		// unescapeValue (a trailing lone backslash), never mis-keyed.
		var ok bool
		if dst, ok = r.appendRDNKey(dst, rdn); !ok {
			return dst, false
		}
		dst = append(dst, 0)
	}
	return dst, true
}

// appendRDNKey appends the key of one RDN: its AVAs' keys, sorted, joined
// by 0x01.
func (r namingRules) appendRDNKey(dst []byte, rdn string) ([]byte, bool) {
	if !strings.Contains(rdn, "+") {
		return r.appendAVAKey(dst, rdn)
	}
	var parts []string // a multi-valued RDN: rare enough to allocate
	for ava := range strings.SplitSeq(rdn, "+") {
		k, ok := r.appendAVAKey(nil, ava)
		if !ok {
			return dst, false
		}
		parts = append(parts, string(k))
	}
	slices.Sort(parts)
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, 1)
		}
		dst = append(dst, p...)
	}
	return dst, true
}

// appendAVAKey appends the key of one AVA: the type's OID, 0x02 and the
// folded value.
func (r namingRules) appendAVAKey(dst []byte, ava string) ([]byte, bool) {
	typ, val, found := strings.Cut(ava, "=")
	if !found {
		return dst, false
	}
	oid, known := r.typeOID(strings.TrimSpace(typ))
	if !known || !r.foldable[oid] {
		return dst, false
	}
	v, ok := unescapeValue(val)
	if !ok {
		return dst, false
	}
	dst = append(append(dst, oid...), 2)
	return appendFold(dst, v), true
}

// typeOID looks an attribute type's name or OID up, ignoring case.
func (r namingRules) typeOID(typ string) (string, bool) {
	var buf [64]byte
	if len(typ) > len(buf) || !isPlainASCII(typ) {
		oid, ok := r.oid[strings.ToLower(typ)]
		return oid, ok
	}
	lower := buf[:len(typ)]
	for i := range len(typ) {
		c := typ[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	oid, ok := r.oid[string(lower)] // a lookup by string(bytes) does not allocate
	return oid, ok
}

// unescapeValue decodes an RFC 4514 attribute value in string form. BER
// (#…) and quoted values, raw specials, control bytes and invalid UTF-8
// are refused.
func unescapeValue(s string) (string, bool) {
	s = strings.Trim(s, " ")
	if strings.HasPrefix(s, "#") || strings.ContainsAny(s, "\"+;<>=\x00") {
		return "", false
	}
	if !strings.Contains(s, `\`) {
		return s, utf8.ValidString(s) && !hasControl(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", false // a trailing backslash: an escaped ',' split the DN
		}
		if h, ok := unhex(s[i+1:]); ok {
			out = append(out, h)
			i += 2
			continue
		}
		out = append(out, s[i+1])
		i++
	}
	v := string(out)
	return v, utf8.ValidString(v) && !hasControl(v)
}

func unhex(s string) (byte, bool) {
	if len(s) < 2 {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[:2]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// appendFold appends what every foldable rule keeps of a value: the
// letters and digits of its NFKD form (so accents and other marks are
// dropped: the directory lower-cases İ to i), each letter replaced by the
// smallest rune of its case-folding orbit, and each run of ASCII digits
// without its leading zeros (integerMatch: 007 = 7). Everything else
// (spaces, punctuation, marks) is dropped. The fold is a function of the
// value, so exact rules are covered as well.
func appendFold(dst []byte, v string) []byte {
	if !isPlainASCII(v) {
		v = norm.NFKD.String(v)
	}
	// digit: the last rune kept was an ASCII digit; zeros: a run of
	// leading zeros is held back until what follows it shows whether one
	// of them stays (no digit follows) or none (one does).
	digit, zeros := false, false
	for _, c := range v {
		switch {
		case isASCIIDigit(c):
		case c < utf8.RuneSelf && (c|0x20) >= 'a' && (c|0x20) <= 'z':
			c &^= 0x20 // = foldRune(c): the orbit's smallest rune is the upper case
		case c >= utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			c = foldRune(c)
		default:
			continue
		}
		switch {
		case c == '0' && (!digit || zeros):
			zeros = true
		case zeros && isASCIIDigit(c):
			zeros = false
			dst = utf8.AppendRune(dst, c)
		case zeros:
			zeros = false
			dst = utf8.AppendRune(append(dst, '0'), c)
		default:
			dst = utf8.AppendRune(dst, c)
		}
		digit = isASCIIDigit(c)
	}
	if zeros {
		dst = append(dst, '0')
	}
	return dst
}

func isASCIIDigit(c rune) bool { return c >= '0' && c <= '9' }

// foldRune maps a letter to the smallest rune of its simple case-folding
// orbit (K, k and the Kelvin sign all become K), so any case mapping the
// directory applies lands on the same rune.
func foldRune(c rune) rune {
	low := c
	for r := unicode.SimpleFold(c); r != c; r = unicode.SimpleFold(r) {
		low = min(low, r)
	}
	return low
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// valuesKey is a key of dn that needs no schema: the values of its RDNs,
// unescaped and folded as appendFold folds them, without the attribute
// types, the values of a multi-valued RDN sorted. Every spelling of one DN
// that slapd takes for the same entry (types by name, alias or OID,
// escapes, spaces, case, full-width letters, quotes, ';' between RDNs, the
// order within an RDN) has the same key; distinct DNs may share one too.
// So it can tell that a DN may be another spelling of a known one (the
// per-DN rate limit, the OTPme users' bind DNs), never that it is one.
func valuesKey(dn string) string { return string(appendValuesKey(nil, dn)) }

// appendValuesKey appends dn's valuesKey to dst. A DN of single-valued
// RDNs without escapes or quotes costs no allocation (every bind computes
// one for the rate limit).
func appendValuesKey(dst []byte, dn string) []byte {
	for {
		end := nextSeparator(dn, ",;")
		dst = append(appendRDNValues(dst, dn[:end]), 0)
		if end == len(dn) {
			return dst
		}
		dn = dn[end+1:]
	}
}

// appendRDNValues appends the folded values of one RDN, sorted, each
// followed by 0x01.
func appendRDNValues(dst []byte, rdn string) []byte {
	end := nextSeparator(rdn, "+")
	if end == len(rdn) {
		return append(appendAVAValue(dst, rdn), 1)
	}
	var parts []string // a multi-valued RDN: rare enough to allocate
	for {
		parts = append(parts, string(appendAVAValue(nil, rdn[:end])))
		if end == len(rdn) {
			break
		}
		rdn = rdn[end+1:]
		end = nextSeparator(rdn, "+")
	}
	slices.Sort(parts)
	for _, p := range parts {
		dst = append(append(dst, p...), 1)
	}
	return dst
}

// appendAVAValue appends the folded value of one AVA: what follows its
// first '=', escapes decoded and quotes dropped.
func appendAVAValue(dst []byte, ava string) []byte {
	_, v, found := strings.Cut(ava, "=")
	if !found || !strings.ContainsAny(v, `\"`) {
		return appendFold(dst, v)
	}
	var buf [64]byte
	raw := buf[:0]
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
		case c == '\\' && i+1 < len(v):
			if h, ok := unhex(v[i+1:]); ok {
				raw = append(raw, h)
				i += 2
			} else {
				raw = append(raw, v[i+1])
				i++
			}
		default:
			raw = append(raw, c)
		}
	}
	return appendFold(dst, string(raw))
}

// nextSeparator returns the index of the first byte of s that is one of
// seps and neither escaped nor quoted, or len(s).
func nextSeparator(s, seps string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, c) >= 0:
			return i
		}
	}
	return len(s)
}
