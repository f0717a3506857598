package schema

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	tokenDN  = "cn=token,dc=example,dc=com"
	paramsDN = "cn=params,dc=example,dc=com"
)

func TestKind_String(t *testing.T) {
	tests := []struct {
		name string
		k    Kind
		want string
	}{
		{"hotp", HOTP, "HOTP"},
		{"totp", TOTP, "TOTP"},
		{"zero", 0, "Kind(0)"},
		{"unknown", 7, "Kind(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.k.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeToken(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		kind Kind
		want Token
	}{
		{"hotp-fresh", entry(tokenDN, "objectClass", "oathHOTPToken", "oathSecret", "key",
			"oathHOTPParams", paramsDN), HOTP,
			Token{DN: tokenDN, Kind: HOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -1, LastStep: -1}},
		{"hotp-counter", entry(tokenDN, "objectClass", "oathHOTPToken", "oathSecret", "key",
			"oathHOTPParams", paramsDN, "oathHOTPCounter", "41"), HOTP,
			Token{DN: tokenDN, Kind: HOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: 41, LastStep: -1, CounterRaw: "41"}},
		{"hotp-negative-counter", entry(tokenDN, "objectClass", "oathHOTPToken", "oathSecret", "key",
			"oathHOTPParams", paramsDN, "oathHOTPCounter", "-7"), HOTP,
			Token{DN: tokenDN, Kind: HOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -7, LastStep: -1, CounterRaw: "-7"}},
		{"hotp-ignores-totp-attributes", entry(tokenDN, "objectClass", "oathHOTPToken", "oathSecret", "key",
			"oathHOTPParams", paramsDN, "oathTOTPLastTimeStep", "junk", "oathTOTPTimeStepDrift", "junk"), HOTP,
			Token{DN: tokenDN, Kind: HOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -1, LastStep: -1}},
		{"totp-full", entry(tokenDN, "objectClass", "oathTOTPToken", "oathSecret", "key",
			"oathTOTPParams", paramsDN, "oathTOTPLastTimeStep", "56666666", "oathTOTPTimeStepDrift", "-1"), TOTP,
			Token{DN: tokenDN, Kind: TOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -1,
				LastStep: 56666666, LastStepRaw: "56666666", Drift: -1, HasDrift: true, DriftRaw: "-1"}},
		{"totp-fresh", entry(tokenDN, "objectClass", "oathTOTPToken", "oathSecret", "key",
			"oathTOTPParams", paramsDN), TOTP,
			Token{DN: tokenDN, Kind: TOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -1, LastStep: -1}},
		{"totp-zero-drift", entry(tokenDN, "objectClass", "oathTOTPToken", "oathSecret", "key",
			"oathTOTPParams", paramsDN, "oathTOTPTimeStepDrift", "0"), TOTP,
			Token{DN: tokenDN, Kind: TOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -1, LastStep: -1,
				HasDrift: true, DriftRaw: "0"}},
		{"case-insensitive-names", entry(tokenDN, "OBJECTCLASS", "OATHTOTPTOKEN", "OATHSECRET", "key",
			"oathtotpparams", paramsDN, "OATHtotpLASTtimeSTEP", "9"), TOTP,
			Token{DN: tokenDN, Kind: TOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -1, LastStep: 9, LastStepRaw: "9"}},
		{"both-classes-as-hotp", entry(tokenDN, "objectClass", "oathHOTPToken", "objectClass", "oathTOTPToken",
			"oathSecret", "key", "oathHOTPParams", paramsDN, "oathTOTPParams", "cn=other"), HOTP,
			Token{DN: tokenDN, Kind: HOTP, Secret: []byte("key"), ParamsDN: paramsDN, Counter: -1, LastStep: -1}},
		{"empty-secret-counts", entry(tokenDN, "objectClass", "oathHOTPToken", "oathSecret", "",
			"oathHOTPParams", paramsDN), HOTP,
			Token{DN: tokenDN, Kind: HOTP, Secret: []byte{}, ParamsDN: paramsDN, Counter: -1, LastStep: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeToken(tt.e, tt.kind)
			if err != nil {
				t.Fatalf("DecodeToken: %v", err)
			}
			assertToken(t, got, tt.want)
		})
	}
}

func TestDecodeToken_SecretVerbatim(t *testing.T) {
	secret := []byte{0xff, 0x00, 0xfe, 'a', 0x80, '\n', ' '}
	e := entry(tokenDN, "objectClass", "oathHOTPToken", "oathHOTPParams", paramsDN)
	e.Attributes["oathSecret"] = [][]byte{secret}
	got, err := DecodeToken(e, HOTP)
	if err != nil {
		t.Fatalf("DecodeToken: %v", err)
	}
	if !bytes.Equal(got.Secret, secret) {
		t.Errorf("Secret = %x, want %x", got.Secret, secret)
	}
}

func TestDecodeToken_Errors(t *testing.T) {
	hotp := []string{"objectClass", "oathHOTPToken", "oathSecret", "s3cr3t", "oathHOTPParams", paramsDN}
	totp := []string{"objectClass", "oathTOTPToken", "oathSecret", "s3cr3t", "oathTOTPParams", paramsDN}
	with := func(base []string, pairs ...string) []string { return append(append([]string{}, base...), pairs...) }
	tests := []struct {
		name  string
		pairs []string
		kind  Kind
		want  []error
		attrs []string // named in the message
	}{
		{"no-class", []string{"objectClass", "device", "oathSecret", "s3cr3t", "oathHOTPParams", paramsDN},
			HOTP, []error{ErrNotAToken}, []string{"objectClass", "oathHOTPToken"}},
		{"wrong-kind", hotp, TOTP, []error{ErrNotAToken}, []string{"oathTOTPToken"}},
		{"abstract-class-only", []string{"objectClass", "oathToken", "oathSecret", "s3cr3t"},
			HOTP, []error{ErrNotAToken}, []string{"oathHOTPToken"}},
		{"unknown-kind", hotp, 0, []error{ErrNotAToken}, []string{"Kind(0)"}},
		{"no-secret", []string{"objectClass", "oathHOTPToken", "oathHOTPParams", paramsDN},
			HOTP, []error{ErrNoSecret}, []string{"oathSecret"}},
		{"no-params", []string{"objectClass", "oathTOTPToken", "oathSecret", "s3cr3t"},
			TOTP, []error{ErrNoParams}, []string{"oathTOTPParams"}},
		{"other-kinds-params", []string{"objectClass", "oathTOTPToken", "oathSecret", "s3cr3t", "oathHOTPParams", paramsDN},
			TOTP, []error{ErrNoParams}, []string{"oathTOTPParams"}},
		{"empty-params", []string{"objectClass", "oathHOTPToken", "oathSecret", "s3cr3t", "oathHOTPParams", ""},
			HOTP, []error{ErrNoParams}, []string{"oathHOTPParams"}},
		{"no-secret-no-params", []string{"objectClass", "oathHOTPToken"},
			HOTP, []error{ErrNoSecret, ErrNoParams}, []string{"oathSecret", "oathHOTPParams"}},
		{"counter-plus", with(hotp, "oathHOTPCounter", "+5"), HOTP, []error{ErrBadValue}, []string{"oathHOTPCounter", `"+5"`}},
		{"counter-leading-space", with(hotp, "oathHOTPCounter", " 5"), HOTP, []error{ErrBadValue}, []string{"oathHOTPCounter"}},
		{"counter-trailing-space", with(hotp, "oathHOTPCounter", "5 "), HOTP, []error{ErrBadValue}, []string{"oathHOTPCounter"}},
		{"counter-huge", with(hotp, "oathHOTPCounter", "99999999999999999999"), HOTP, []error{ErrBadValue}, []string{"oathHOTPCounter", "range"}},
		{"counter-minus-zero", with(hotp, "oathHOTPCounter", "-0"), HOTP, []error{ErrBadValue}, []string{"oathHOTPCounter"}},
		{"counter-empty", with(hotp, "oathHOTPCounter", ""), HOTP, []error{ErrBadValue}, []string{"oathHOTPCounter"}},
		{"last-step-bad", with(totp, "oathTOTPLastTimeStep", "abc"), TOTP, []error{ErrBadValue}, []string{"oathTOTPLastTimeStep"}},
		{"drift-bad", with(totp, "oathTOTPTimeStepDrift", "1.5"), TOTP, []error{ErrBadValue}, []string{"oathTOTPTimeStepDrift"}},
		{"everything-bad", []string{"objectClass", "oathTOTPToken", "oathTOTPLastTimeStep", "x", "oathTOTPTimeStepDrift", "y"},
			TOTP, []error{ErrNoSecret, ErrNoParams, ErrBadValue},
			[]string{"oathSecret", "oathTOTPParams", "oathTOTPLastTimeStep", "oathTOTPTimeStepDrift"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeToken(entry(tokenDN, tt.pairs...), tt.kind)
			assertErr(t, err, tt.want, append([]string{tokenDN}, tt.attrs...))
			if got.DN != "" || got.Secret != nil {
				t.Errorf("DecodeToken returned %+v with an error", got)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

// assertToken compares two tokens field by field.
func assertToken(t *testing.T, got, want Token) {
	t.Helper()
	if !bytes.Equal(got.Secret, want.Secret) || (got.Secret == nil) != (want.Secret == nil) {
		t.Errorf("Secret = %q, want %q", got.Secret, want.Secret)
	}
	got.Secret, want.Secret = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("token =\n%+v, want\n%+v", got, want)
	}
}

// assertErr checks that err wraps every sentinel in want and mentions
// every string in names.
func assertErr(t *testing.T, err error, want []error, names []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("error %q does not wrap %q", err, w)
		}
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %q", err, n)
		}
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(uint8(1), "oathHOTPToken", []byte("key"), paramsDN, "5", "", "")
	f.Add(uint8(2), "oathTOTPToken", []byte{0xff, 0}, paramsDN, "", "56666666", "-1")
	f.Add(uint8(2), "OATHtotpTOKEN", []byte{}, "", "", "-0", "+1")
	f.Add(uint8(0), "device", []byte(nil), paramsDN, "99999999999999999999", " 5", "5 ")
	f.Fuzz(func(t *testing.T, kind uint8, class string, secret []byte, params, counter, step, drift string) {
		e := entry(tokenDN, "objectClass", class, "oathHOTPParams", params, "oathTOTPParams", params)
		for attr, v := range map[string]string{AttrHOTPCounter: counter, AttrTOTPLastStep: step, AttrTOTPDrift: drift} {
			if v != "" {
				e.Attributes[attr] = [][]byte{[]byte(v)}
			}
		}
		if secret != nil {
			e.Attributes[AttrSecret] = [][]byte{secret}
		}
		tok, err := DecodeToken(e, Kind(kind))
		if err != nil {
			return
		}
		if !bytes.Equal(tok.Secret, secret) || tok.ParamsDN != params || tok.Kind != Kind(kind) {
			t.Errorf("token %+v does not carry the entry's values", tok)
		}
		// Valid integers are canonical: formatting gives the stored string.
		for _, c := range []struct {
			raw string
			v   int64
		}{{tok.CounterRaw, tok.Counter}, {tok.LastStepRaw, tok.LastStep}, {tok.DriftRaw, tok.Drift}} {
			if c.raw != "" && FormatInt(c.v) != c.raw {
				t.Errorf("stored %q decoded to %d", c.raw, c.v)
			}
		}
	})
}
