package schema

import "testing"

// The entries below are what slapd sends the proxy for one OTP bind, with
// the attribute names in slapd's spelling and the structural classes a real
// entry carries besides the OATH ones.

func benchEntry(dn string, attrs map[string][]string) Entry {
	e := Entry{DN: dn, Attributes: map[string][][]byte{}}
	for name, vals := range attrs {
		for _, v := range vals {
			e.Attributes[name] = append(e.Attributes[name], []byte(v))
		}
	}
	return e
}

var (
	benchUser = benchEntry("uid=alice,ou=people,dc=example,dc=com", map[string][]string{
		AttrObjectClass: {"top", "person", "organizationalPerson", "inetOrgPerson", ClassHOTPUser},
		AttrHOTPToken:   {"cn=alice-hotp,ou=tokens,dc=example,dc=com"},
	})
	benchHOTPToken = benchEntry("cn=alice-hotp,ou=tokens,dc=example,dc=com", map[string][]string{
		AttrObjectClass: {"top", "oathToken", ClassHOTPToken},
		AttrSecret:      {"12345678901234567890"},
		AttrHOTPParams:  {paramsDN},
		AttrHOTPCounter: {"1041"},
	})
	benchTOTPToken = benchEntry("cn=alice-totp,ou=tokens,dc=example,dc=com", map[string][]string{
		AttrObjectClass:  {"top", "oathToken", ClassTOTPToken},
		AttrSecret:       {"12345678901234567890"},
		AttrTOTPParams:   {paramsDN},
		AttrTOTPLastStep: {"56666666"},
		AttrTOTPDrift:    {"-1"},
	})
	benchHOTPParams = benchEntry(paramsDN, map[string][]string{
		AttrObjectClass:   {"top", "oathParams", ClassHOTPParams},
		AttrOTPLength:     {"6"},
		AttrHMACAlgorithm: {"1.2.840.113549.2.7"},
		AttrHOTPLookAhead: {"10"},
	})
)

func BenchmarkDecodeUser(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if u := DecodeUser(benchUser); !u.IsOTPUser {
			b.Fatal("not an OTP user")
		}
	}
}

func BenchmarkDecodeToken(b *testing.B) {
	for _, bc := range []struct {
		name string
		e    Entry
		kind Kind
	}{{"hotp", benchHOTPToken, HOTP}, {"totp", benchTOTPToken, TOTP}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeToken(bc.e, bc.kind); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeHOTPParams(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeHOTPParams(benchHOTPParams); err != nil {
			b.Fatal(err)
		}
	}
}
