package schema

import "testing"

func TestDecodeUser(t *testing.T) {
	const dn = "uid=u,dc=example,dc=com"
	tests := []struct {
		name string
		e    Entry
		want User
	}{
		{"hotp-user", entry(dn, "objectClass", "inetOrgPerson", "objectClass", "oathHOTPUser",
			"oathHOTPToken", "cn=h"),
			User{DN: dn, IsOTPUser: true, HOTPToken: "cn=h"}},
		{"totp-user-case-insensitive", entry(dn, "OBJECTCLASS", "oathtotpuser", "OATHTOTPTOKEN", "cn=t"),
			User{DN: dn, IsOTPUser: true, TOTPToken: "cn=t"}},
		{"both-tokens", entry(dn, "objectClass", "oathHOTPUser", "objectClass", "oathTOTPUser",
			"oathHOTPToken", "cn=h", "oathTOTPToken", "cn=t"),
			User{DN: dn, IsOTPUser: true, HOTPToken: "cn=h", TOTPToken: "cn=t"}},
		{"hotp-user-without-token", entry(dn, "objectClass", "oathHOTPUser"),
			User{DN: dn, IsOTPUser: true}},
		{"plain-user-with-pointer", entry(dn, "objectClass", "person", "oathTOTPToken", "cn=t"),
			User{DN: dn, TOTPToken: "cn=t"}},
		{"abstract-class-only", entry(dn, "objectClass", "oathUser"),
			User{DN: dn}},
		{"no-attributes", Entry{DN: dn}, User{DN: dn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeUser(tt.e); got != tt.want {
				t.Errorf("DecodeUser = %+v, want %+v", got, tt.want)
			}
		})
	}
}
