package proxy

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testRules: a few attribute types as slapd publishes them.
var testRules = parseNamingRules([]string{
	"( 2.5.4.41 NAME 'name' DESC 'RFC4519: common supertype of name attributes' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
	"( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s) for which the entity is known by' SUP name )",
	"( 2.5.4.11 NAME ( 'ou' 'organizationalUnitName' ) SUP name )",
	"( 0.9.2342.19200300.100.1.25 NAME ( 'dc' 'domainComponent' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )",
	"( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )",
	"( 1.3.6.1.1.1.1.0 NAME 'uidNumber' DESC 'An integer uniquely identifying a user' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )",
	"( 2.5.4.31 NAME 'member' SUP distinguishedName )",
	"( 2.5.4.49 NAME 'distinguishedName' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )",
	"( 1.3.6.1.4.1.1466.101.120.16 NAME 'ldapSyntaxes' DESC 'RFC4512: LDAP syntaxes' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.54 USAGE directoryOperation )",
})

func TestParseNamingRules(t *testing.T) {
	for name, want := range map[string]bool{"cn": true, "commonName": true, "COMMONNAME": true, "2.5.4.3": true,
		"uid": true, "userid": true, "dc": true, "uidNumber": true, "member": false, "ldapSyntaxes": false} {
		oid, known := testRules.oid[lowerASCII(name)]
		require.True(t, known, name)
		assert.Equal(t, want, testRules.foldable[oid], "%s (%s) foldable", name, oid)
	}
	_, known := testRules.oid["mail"]
	assert.False(t, known)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TestDNKey_SameEntry: spellings the directory takes for one entry share a
// key (test/userindex_test.go checks this against slapd itself).
func TestDNKey_SameEntry(t *testing.T) {
	for _, group := range [][]string{
		{"uid=Alice Smith,ou=People,dc=example,dc=com", "UID=alice smith,ou=people,dc=EXAMPLE,dc=com",
			"userid=ALICE  SMITH , ou = people , dc = example , dc = com", "0.9.2342.19200300.100.1.1=Alice Smith,ou=people,dc=example,dc=com",
			`uid=\41lice\20Smith,ou=people,dc=example,dc=com`, "uid=Ａlice Smith,ou=people,dc=example,dc=com",
			"uid=ALİCE SMİTH,ou=people,dc=example,dc=com", "uid=Alice Smith\\20,ou=people,dc=example,dc=com"},
		{"cn=Jürgen,dc=x", "cn=JÜRGEN,dc=x", "cn=Ju\u0308rgen,dc=x", `cn=J\C3\BCrgen,dc=x`, "commonName=jürgen,dc=x"},
		{"uidNumber=42+uid=num,dc=x", "uid=NUM+uidNumber=42,dc=x", "uidNumber=042+uid=num,dc=x"},
		{"uidNumber=0,dc=x", "uidNumber=000,dc=x"},
	} {
		want, ok := testRules.dnKey(group[0])
		require.True(t, ok, group[0])
		for _, dn := range group[1:] {
			got, ok := testRules.dnKey(dn)
			if assert.True(t, ok, dn) {
				assert.Equal(t, want, got, "%q and %q", group[0], dn)
			}
		}
	}
}

func TestDNKey_DifferentEntries(t *testing.T) {
	a, _ := testRules.dnKey("uid=alice,dc=x")
	for _, dn := range []string{"uid=alice,dc=y", "uid=alice2,dc=x", "cn=alice,dc=x", "uid=alice,ou=x,dc=x", "uidNumber=10,dc=x"} {
		k, ok := testRules.dnKey(dn)
		require.True(t, ok, dn)
		assert.NotEqual(t, a, k, dn)
	}
	n1, _ := testRules.dnKey("uidNumber=10,dc=x")
	n2, _ := testRules.dnKey("uidNumber=1,dc=x")
	assert.NotEqual(t, n1, n2, "10 is not 1: only leading zeros go")
}

// TestDNKey_NoKey: what the key cannot fold safely has no key; such a
// bind reads its entry.
func TestDNKey_NoKey(t *testing.T) {
	for _, dn := range []string{"", "uid=a;dc=x", `uid="a",dc=x`, "uid=#04016",
		"member=cn=a\\,dc=x,dc=x", "mail=a@x,dc=x", "uid=a\\,b,dc=x", "uid=a\\+b,dc=x", "uid,dc=x",
		"uid=a\x00,dc=x", "uid=\xff,dc=x", "uid=a\\00,dc=x", "cn;lang-en=a,dc=x", "uid=a=b,dc=x", "uid=a\\"} {
		_, ok := testRules.dnKey(dn)
		assert.False(t, ok, "%q", dn)
	}
}

func TestIsUnder(t *testing.T) {
	base := "ou=people,dc=x"
	for dn, want := range map[string]bool{
		"uid=a,ou=people,dc=x": true, "uid=a\\\\,ou=people,dc=x": true,
		"uid=a\\,ou=people,dc=x": false, "ou=people,dc=x": false, "uid=a,OU=people,dc=x": false,
		"uid=a, ou=people,dc=x": false, "uid=a,xou=people,dc=x": false, ",ou=people,dc=x": false,
	} {
		assert.Equal(t, want, isUnder(dn, base), dn)
	}
}

// FuzzDNKey checks dnKey against keyRef, the plain form it was written
// from (a string per AVA, sorted and joined), byte for byte.
func FuzzDNKey(f *testing.F) {
	for _, s := range []string{"uid=a,dc=x", "uidNumber=042+uid=n,dc=x", `cn=J\C3\BCrgen,dc=x`, "uid=Ａ,dc=x",
		"uidNumber=0,dc=x", "cn=a00b 0 07 x0,dc=x", "UID=Alice,DC=X", `cn=İ+uid=\41,dc=x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		want, wantOK := keyRef(testRules, dn)
		got, ok := testRules.dnKey(dn)
		if ok != wantOK || got != want {
			t.Fatalf("dnKey(%q) = %q, %v; the reference gives %q, %v", dn, got, ok, want, wantOK)
		}
		_ = isUnder(dn, "dc=x")
		_ = valuesKey(dn) // never panics
	})
}

// BenchmarkDNKey: keying a bind DN for the user index's lookup.
func BenchmarkDNKey(b *testing.B) {
	b.ReportAllocs()
	var buf [256]byte
	for b.Loop() {
		if _, ok := testRules.appendDNKey(buf[:0], "uid=user1234,ou=people,dc=example,dc=com"); !ok {
			b.Fatal("no key")
		}
	}
}

// keyRef is dnKey written the plain way, as the fuzz test's reference.
func keyRef(r namingRules, dn string) (string, bool) {
	if dn == "" {
		return "", false
	}
	var b strings.Builder
	for rdn := range strings.SplitSeq(dn, ",") {
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
			parts[i] = oid + "\x02" + foldRef(v)
		}
		slices.Sort(parts)
		b.WriteString(strings.Join(parts, "\x01"))
		b.WriteByte(0)
	}
	return b.String(), true
}

// foldRef is appendFold on a slice of runes.
func foldRef(v string) string {
	if !isPlainASCII(v) {
		v = norm.NFKD.String(v)
	}
	var kept []rune
	for _, c := range v {
		switch {
		case isASCIIDigit(c):
			kept = append(kept, c)
		case c < utf8.RuneSelf && unicode.IsLetter(c):
			kept = append(kept, unicode.ToUpper(c))
		case c >= utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			kept = append(kept, foldRune(c))
		}
	}
	var out []rune
	for i := 0; i < len(kept); i++ {
		if kept[i] == '0' && (i == 0 || !isASCIIDigit(kept[i-1])) {
			for i+1 < len(kept) && kept[i+1] == '0' {
				i++
			}
			if i+1 < len(kept) && isASCIIDigit(kept[i+1]) {
				continue
			}
		}
		out = append(out, kept[i])
	}
	return string(out)
}
