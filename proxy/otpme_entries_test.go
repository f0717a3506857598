package proxy

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// objEntry makes a schema.Entry of dn with the object class and attrs.
func objEntry(dn, class string, attrs objAttrs) schema.Entry {
	e := schema.Entry{DN: dn, Attributes: map[string][][]byte{"objectClass": {[]byte(class)}}}
	for name, vals := range attrs {
		for _, v := range vals {
			e.Attributes[name] = append(e.Attributes[name], []byte(v))
		}
	}
	return e
}

// oddNames are names an administrator may give that need escaping in a DN.
var oddNames = []string{"alice", "a,b", "a+b", "Ünïcødé-ß", "#hash", "semi;colon", `back\slash`,
	"<angle>", "日本語", "trailing#", "x", strings.Repeat("n", 128)}

func TestEntries_RoundTrip(t *testing.T) {
	for _, name := range oddNames {
		t.Run(name, func(t *testing.T) {
			u := otpme.User{ID: "u-" + name, Name: name, Enabled: false, BindDN: "uid=" + ldap.EscapeDN(name) + ",ou=people,dc=example,dc=com",
				Sessions: true, MaxFail: 0, Description: "with, comma"}
			got, err := decodeUser(objEntry(objChildDN(name, "ou=users,dc=x"), objClassUser, encodeUser(u)))
			require.NoError(t, err)
			assert.Equal(t, u, got)

			tok := otpme.Token{ID: "t", Name: name, User: "owner", Type: otpme.TokenMOTP, Enabled: true,
				Groups: []string{"g1", name}, Description: "d", Secret: otpme.Secret("0123456789abcdef"),
				PIN: otpme.Secret("1234"), Window: 30}
			gotTok, err := decodeToken(objEntry("otpmeName=t,otpmeName=owner,ou=users,dc=x", objClassToken, encodeToken(tok)), "owner")
			require.NoError(t, err)
			assert.Equal(t, tok, gotTok)

			g := otpme.Group{ID: "g", Name: name, Enabled: true, Children: []string{name, "b"}, ChildSessions: []string{"c"},
				MaxFail: 9, Sessions: true, SessionMaster: true, MaxLogin: 3, Timeout: 2 * time.Hour, UnusedTimeout: 90 * time.Second}
			gotG, err := decodeGroup(objEntry("otpmeName=g,ou=groups,dc=x", objClassGroup, encodeGroup(g)))
			require.NoError(t, err)
			assert.Equal(t, g, gotG)

			c := otpme.Client{Name: name, Enabled: false, AccessGroup: name, TrustCheck: true, Secret: otpme.Secret("s3cr3t"),
				Addresses:    []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::1/128")},
				CertSubjects: []string{"CN=" + name}, Listeners: []string{"127.0.0.1:1389"}, Description: "d"}
			gotC, err := decodeClient(objEntry("otpmeName=c,ou=clients,dc=x", objClassClient, encodeClient(c)))
			require.NoError(t, err)
			assert.Equal(t, c, gotC)
		})
	}
}

func TestEntries_OATHAndPasswordTokens(t *testing.T) {
	for _, tok := range []otpme.Token{
		{ID: "1", Name: "yubi", User: "u", Type: otpme.TokenHOTP, Enabled: true, DN: "cn=yubi,ou=tokens,dc=example,dc=com"},
		{ID: "2", Name: "app", User: "u", Type: otpme.TokenTOTP, Enabled: true, DN: "cn=app,ou=tokens,dc=example,dc=com"},
		{ID: "3", Name: "pw", User: "u", Type: otpme.TokenPassword, PasswordHash: "{SSHA256}abc"},
	} {
		got, err := decodeToken(objEntry("otpmeName=x,otpmeName=u,dc=x", objClassToken, encodeToken(tok)), "u")
		require.NoError(t, err)
		assert.Equal(t, tok, got)
	}
}

func TestEntries_Defaults(t *testing.T) {
	u, err := decodeUser(objEntry("otpmeName=a,dc=x", objClassUser, objAttrs{objAttrID: {"1"}, objAttrName: {"a"}}))
	require.NoError(t, err)
	assert.Equal(t, otpme.User{ID: "1", Name: "a", Enabled: true, MaxFail: otpme.DefaultMaxFail}, u)

	g, err := decodeGroup(objEntry("otpmeName=g,dc=x", objClassGroup, objAttrs{objAttrID: {"1"}, objAttrName: {"g"}}))
	require.NoError(t, err)
	assert.Equal(t, otpme.Group{ID: "1", Name: "g", Enabled: true, MaxFail: otpme.DefaultMaxFail,
		Timeout: otpme.DefaultTimeout, UnusedTimeout: otpme.DefaultUnusedTimeout}, g)

	c, err := decodeClient(objEntry("otpmeName=c,dc=x", objClassClient, objAttrs{objAttrName: {"c"}}))
	require.NoError(t, err)
	assert.Equal(t, otpme.Client{Name: "c", Enabled: true}, c)

	tok, err := decodeToken(objEntry("otpmeName=t,dc=x", objClassToken,
		objAttrs{objAttrID: {"1"}, objAttrName: {"t"}, objAttrTokenType: {"MOTP"}, objAttrMOTPSecret: {"s"}, objAttrMOTPPIN: {"p"}}), "u")
	require.NoError(t, err)
	assert.Equal(t, otpme.Token{ID: "1", Name: "t", User: "u", Type: otpme.TokenMOTP, Enabled: true,
		Secret: otpme.Secret("s"), PIN: otpme.Secret("p")}, tok)

	// Attribute names are matched case-insensitively, as LDAP does.
	e := objEntry("otpmeName=a,dc=x", objClassUser, objAttrs{"OTPMEID": {"1"}, "otpmename": {"a"}, "OtpmeEnabled": {"FALSE"}})
	u, err = decodeUser(e)
	require.NoError(t, err)
	assert.False(t, u.Enabled)
}

func TestEntries_DecodeErrors(t *testing.T) {
	const dn = "otpmeName=x,ou=users,ou=otpme,dc=example,dc=com"
	secret := "top-secret-value-42"
	tests := []struct {
		name   string
		decode func(schema.Entry) error
		attrs  objAttrs
		attr   string
	}{
		{"user-no-id", userErr, objAttrs{objAttrName: {"x"}}, objAttrID},
		{"user-no-name", userErr, objAttrs{objAttrID: {"1"}}, objAttrName},
		{"user-bad-bool", userErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrEnabled: {"yes"}}, objAttrEnabled},
		{"user-negative-max-fail", userErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrMaxFail: {"-1"}}, objAttrMaxFail},
		{"user-bad-bind-dn", userErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrBindDN: {"not a dn"}}, objAttrBindDN},
		{"token-bad-type", tokenErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrTokenType: {"sms"}}, objAttrTokenType},
		{"token-no-type", tokenErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}}, objAttrTokenType},
		{"token-oath-without-entry", tokenErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrTokenType: {"totp"}}, objAttrOATHToken},
		{"token-window-too-big", tokenErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrTokenType: {"motp"},
			objAttrMOTPWindow: {"361"}, objAttrMOTPSecret: {secret}, objAttrMOTPPIN: {secret}}, objAttrMOTPWindow},
		{"group-zero-timeout", groupErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrTimeout: {"0"}}, objAttrTimeout},
		{"group-huge-timeout", groupErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrUnusedTimeout: {"99999999999999999999"}}, objAttrUnusedTimeout},
		{"group-bad-max-login", groupErr, objAttrs{objAttrID: {"1"}, objAttrName: {"x"}, objAttrMaxLogin: {"many"}}, objAttrMaxLogin},
		{"client-bad-address", clientErr, objAttrs{objAttrName: {"x"}, objAttrAddress: {"10.0.0.0/33"}, objAttrClientSecret: {secret}}, objAttrAddress},
		{"client-bad-trust", clientErr, objAttrs{objAttrName: {"x"}, objAttrTrustCheck: {"1"}, objAttrClientSecret: {secret}}, objAttrTrustCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(objEntry(dn, "x", tt.attrs))
			require.ErrorIs(t, err, errObjectEntry)
			assert.Contains(t, err.Error(), dn)
			assert.Contains(t, err.Error(), tt.attr)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

func userErr(e schema.Entry) error   { _, err := decodeUser(e); return err }
func tokenErr(e schema.Entry) error  { _, err := decodeToken(e, "u"); return err }
func groupErr(e schema.Entry) error  { _, err := decodeGroup(e); return err }
func clientErr(e schema.Entry) error { _, err := decodeClient(e); return err }

func TestEntries_Addresses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"192.0.2.7/24", "192.0.2.0/24"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:DB8::1", "2001:db8::1"},
		{"2001:db8::/32", "2001:db8::/32"},
	}
	for _, tt := range tests {
		p, err := objParsePrefix(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, objPrefixString(p), tt.in)
	}
}

func TestEntries_EscapeRDNValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"a,b", `a\,b`},
		{"a+b=c", `a\+b\=c`},
		{`"q";<x>\`, `\"q\"\;\<x\>\\`},
		{"#x#", `\#x#`},
		{" x ", `\ x\ `},
		{"Ünï", "Ünï"},
		{"a\x00b\x7f", `a\00b\7F`},
		{"bad\xffutf8", `bad\FFutf8`},
	}
	for _, tt := range tests {
		got := escapeRDNValue(tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		dn, err := ldap.ParseDN("cn=" + got + ",dc=x")
		require.NoError(t, err, got)
		if !strings.Contains(tt.in, "\xff") {
			assert.Equal(t, tt.in, dn.RDNs[0].Attributes[0].Value, "parses back")
		}
	}
}

func TestEntries_CanonicalDN(t *testing.T) {
	tests := []struct {
		a, b  string
		equal bool
	}{
		{"uid=alice,ou=people,dc=example,dc=com", "UID=Alice, OU=People , DC=Example,DC=COM", true},
		{"uid=alice,ou=people,dc=example,dc=com", "uid = alice ,ou=people,dc=example,dc=com", true},
		{"cn=a\\,b,dc=x", "CN=A\\2Cb,DC=X", true},
		{"cn=Ünï,dc=x", "cn=üNÏ,dc=x", true},
		{"cn=a+sn=b,dc=x", "sn=B+cn=A,dc=x", true},
		{"uid=alice,dc=x", "uid=alice2,dc=x", false},
		{"uid=alice,dc=x", "uid=alice,dc=y", false},
		{"uid=a,dc=x", "uid=a,dc=x,dc=y", false},
	}
	for _, tt := range tests {
		ka, err := canonicalDN(tt.a)
		require.NoError(t, err)
		kb, err := canonicalDN(tt.b)
		require.NoError(t, err)
		assert.Equal(t, tt.equal, ka == kb, "%s vs %s", tt.a, tt.b)
		da, _ := ldap.ParseDN(tt.a)
		db, _ := ldap.ParseDN(tt.b)
		assert.Equal(t, da.EqualFold(db), ka == kb, "agrees with go-ldap: %s vs %s", tt.a, tt.b)
	}
	_, err := canonicalDN("not a dn")
	require.Error(t, err)
}

func TestEntries_SplitRDN(t *testing.T) {
	tests := []struct{ in, rdn, parent string }{
		{"cn=a,dc=x", "cn=a", "dc=x"},
		{`cn=a\,b,dc=x`, `cn=a\,b`, "dc=x"},
		{`cn=a\\,dc=x`, `cn=a\\`, "dc=x"},
		{"cn=a, dc=x", "cn=a", "dc=x"},
		{"cn=a", "cn=a", ""},
	}
	for _, tt := range tests {
		rdn, parent := splitRDN(tt.in)
		assert.Equal(t, tt.rdn, rdn, tt.in)
		assert.Equal(t, tt.parent, parent, tt.in)
	}
}

func TestEntries_KindOf(t *testing.T) {
	for class, want := range map[string]objKind{"otpmeUser": objUser, "OTPMETOKEN": objToken, "otpmeGroup": objGroup,
		"otpmeClient": objClient, "otpmeState": objNone, "organizationalUnit": objNone} {
		assert.Equal(t, want, objKindOf(objEntry("cn=x", class, nil)), class)
	}
}

// FuzzEntries_Decode feeds arbitrary attribute values to every decoder: no
// panic, and whatever decodes encodes back to an entry that decodes the
// same.
func FuzzEntries_Decode(f *testing.F) {
	f.Add("otpmeName=a,dc=x", "a", "1", "TRUE", "5", "motp", "10.0.0.0/8", "uid=a,dc=x", "30")
	f.Add("bad", "", "", "maybe", "-1", "hotp", "::1", "not a dn", "0")
	f.Add(`cn=a\,b`, "ü", "x", "false", "99999999999999999999", "TOTP", "1.2.3.4/40", "", "360")
	f.Fuzz(func(t *testing.T, dn, name, id, flag, num, typ, addr, bind, secs string) {
		attrs := objAttrs{objAttrID: {id}, objAttrName: {name}, objAttrEnabled: {flag}, objAttrSessions: {flag},
			objAttrMaxFail: {num}, objAttrTokenType: {typ}, objAttrAddress: {addr, addr}, objAttrBindDN: {bind},
			objAttrOATHToken: {bind}, objAttrMOTPWindow: {num}, objAttrTimeout: {secs}, objAttrUnusedTimeout: {num},
			objAttrMaxLogin: {secs}, objAttrTrustCheck: {flag}, objAttrAccessGroup: {name, id}, objAttrChildGroup: {name}}
		e := objEntry(dn, "x", attrs)
		if u, err := decodeUser(e); err == nil {
			again, err := decodeUser(objEntry(dn, "x", encodeUser(u)))
			require.NoError(t, err)
			require.Equal(t, u, again)
		}
		if tok, err := decodeToken(e, "u"); err == nil {
			again, err := decodeToken(objEntry(dn, "x", encodeToken(tok)), "u")
			require.NoError(t, err)
			require.Equal(t, tok, again)
		}
		if g, err := decodeGroup(e); err == nil {
			again, err := decodeGroup(objEntry(dn, "x", encodeGroup(g)))
			require.NoError(t, err)
			require.Equal(t, g, again)
		}
		if c, err := decodeClient(e); err == nil {
			again, err := decodeClient(objEntry(dn, "x", encodeClient(c)))
			require.NoError(t, err)
			require.Equal(t, c, again)
		}
		_, _ = canonicalDN(dn)
		rdn, _ := splitRDN(dn)
		require.LessOrEqual(t, len(rdn), len(dn))
		if name != "" && utf8.ValidString(name) {
			p, err := ldap.ParseDN("cn=" + escapeRDNValue(name) + ",dc=x")
			require.NoError(t, err, "escaped %q", name)
			require.Equal(t, name, p.RDNs[0].Attributes[0].Value)
		}
	})
}

// planOps renders a plan as lines for comparison.
func planOps(ops []objOp) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		s := op.kind.String() + " " + op.dn
		if op.rdn != "" {
			s += " -> " + op.rdn
		}
		if op.kind == objOpModify || op.kind == objOpAdd {
			s += " [" + strings.Join(slices.Sorted(maps.Keys(op.attrs)), " ") + "]"
		}
		out[i] = s
	}
	return out
}

// planTree builds an objTree from a MemObjects with the standard DNs.
func planTree(t *testing.T, m *otpme.MemObjects, base string) *objTree {
	t.Helper()
	s := m.Snapshot()
	tree := &objTree{snap: s, userDN: map[string]string{}, tokenDN: map[string]string{}, groupDN: map[string]string{}, clientDN: map[string]string{}}
	users := map[string]string{}
	for _, u := range s.Users {
		tree.userDN[u.ID] = objChildDN(u.Name, "ou=users,"+base)
		users[u.Name] = tree.userDN[u.ID]
	}
	for _, tok := range s.Tokens {
		tree.tokenDN[tok.ID] = objChildDN(tok.Name, users[tok.User])
	}
	for _, g := range s.Groups {
		tree.groupDN[g.ID] = objChildDN(g.Name, "ou=groups,"+base)
	}
	for _, c := range s.Clients {
		tree.clientDN[c.Name] = objChildDN(c.Name, "ou=clients,"+base)
	}
	return tree
}

// TestEntries_DecodeMOTPWithoutKey: an motp token entry without secret or
// PIN is invalid (the loader skips and reports it like any invalid
// entry): its codes would be the MD5 of the time and what is left.
func TestEntries_DecodeMOTPWithoutKey(t *testing.T) {
	const secret, pin = "0123456789abcdef", "1234"
	tests := []struct {
		name  string
		attrs objAttrs
		attr  string // named in the error; "" for none
	}{
		{"no-secret", objAttrs{objAttrMOTPPIN: {pin}}, objAttrMOTPSecret},
		{"empty-secret", objAttrs{objAttrMOTPSecret: {""}, objAttrMOTPPIN: {pin}}, objAttrMOTPSecret},
		{"no-pin", objAttrs{objAttrMOTPSecret: {secret}}, objAttrMOTPPIN},
		{"neither", objAttrs{}, objAttrMOTPSecret},
		{"both", objAttrs{objAttrMOTPSecret: {secret}, objAttrMOTPPIN: {pin}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := objAttrs{objAttrID: {"1"}, objAttrName: {"phone"}, objAttrTokenType: {"motp"}}
			for k, v := range tt.attrs {
				attrs[k] = v
			}
			tok, err := decodeToken(objEntry("otpmeName=phone,otpmeName=u,ou=users,dc=x", objClassToken, attrs), "u")
			if tt.attr == "" {
				require.NoError(t, err)
				assert.Equal(t, otpme.Secret(secret), tok.Secret)
				return
			}
			require.ErrorIs(t, err, errObjectEntry)
			assert.Contains(t, err.Error(), tt.attr)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}
