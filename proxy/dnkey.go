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
	if dn == "" {
		return "", false
	}
	var b strings.Builder
	for rdn := range strings.SplitSeq(dn, ",") {
		// An escaped separator splits a value here; such a DN is refused by
		// splitValue below (a trailing lone backslash), never mis-keyed.
		avas, ok := r.rdnKey(rdn)
		if !ok {
			return "", false
		}
		b.WriteString(avas)
		b.WriteByte(0)
	}
	return b.String(), true
}

// rdnKey keys one RDN: its AVAs, sorted, joined by 0x01.
func (r namingRules) rdnKey(rdn string) (string, bool) {
	parts := strings.Split(rdn, "+")
	for i, ava := range parts {
		typ, val, found := strings.Cut(ava, "=")
		if !found {
			return "", false
		}
		oid, known := r.oid[strings.ToLower(strings.TrimSpace(typ))]
		if !known || !r.foldable[oid] {
			return "", false
		}
		v, ok := unescapeValue(val)
		if !ok {
			return "", false
		}
		parts[i] = oid + "\x02" + fold(v)
	}
	slices.Sort(parts)
	return strings.Join(parts, "\x01"), true
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

// fold reduces a value to what every foldable rule keeps of it: the letters
// and digits of its NFKD form (so accents and other marks are dropped: the
// directory lower-cases İ to i), each letter replaced by the smallest rune of
// its case-folding orbit, and each run of ASCII digits without its leading
// zeros (integerMatch: 007 = 7). Everything else (spaces, punctuation,
// marks) is dropped. fold is a function of the value, so exact rules are
// covered as well.
func fold(v string) string {
	kept := make([]rune, 0, len(v))
	if !isPlainASCII(v) {
		v = norm.NFKD.String(v)
	}
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			kept = append(kept, c)
		case c < utf8.RuneSelf && (c|0x20) >= 'a' && (c|0x20) <= 'z':
			kept = append(kept, c&^0x20) // = foldRune(c): the orbit's smallest rune is the upper case
		case c >= utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			kept = append(kept, foldRune(c))
		}
	}
	out := kept[:0]
	for i := 0; i < len(kept); i++ {
		if kept[i] == '0' && (i == 0 || !isASCIIDigit(kept[i-1])) {
			for i+1 < len(kept) && kept[i+1] == '0' {
				i++ // leading zeros of a run; the last one stays if the run ends here
			}
			if i+1 < len(kept) && isASCIIDigit(kept[i+1]) {
				continue
			}
		}
		out = append(out, kept[i])
	}
	return string(out)
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
