package slapdtest_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

var kinds = []slapdtest.Kind{slapdtest.Plain, slapdtest.Oracle}

// fixture is a plain user (alice), an HOTP user (bob), bob's token and its
// params, as differential tests will write them.
func fixture(alicePassword string) string {
	return fmt.Sprintf(`
# HOTP params: 6 digits, SHA-1, look-ahead 3
dn: cn=hotp6,ou=params,dc=example,dc=com
objectClass: applicationProcess
objectClass: oathHOTPParams
cn: hotp6
oathOTPLength: 6
oathHMACAlgorithm: 1.2.840.113549.2.7
oathHOTPLookAhead: 3

dn: cn=bob-hotp,ou=tokens,dc=example,dc=com
objectClass: device
objectClass: oathHOTPToken
cn: bob-hotp
# RFC 4226 test secret "12345678901234567890"
oathSecret:: MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=
oathHOTPParams: cn=hotp6,ou=params,dc=example,dc=com
oathHOTPCounter: 0

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Example
userPassword: %s

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: oathHOTPUser
uid: bob
cn: Bob
sn: Example
oathHOTPToken: cn=bob-hotp,ou=tokens,dc=example,dc=com
`, slapdtest.SSHA(alicePassword))
}

const (
	aliceDN    = "uid=alice,ou=people,dc=example,dc=com"
	bobDN      = "uid=bob,ou=people,dc=example,dc=com"
	bobTokenDN = "cn=bob-hotp,ou=tokens,dc=example,dc=com"
)

// TestStart starts both kinds side by side, checks the service account,
// the OATH schema and a user bind, and that all of it survives a restart.
func TestStart(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			s := slapdtest.Start(t, slapdtest.Options{Kind: kind, NoSync: true})
			t.Logf("%s slapd up and seeded on %s in %v", kind, s.URL, time.Since(began))

			checkOATHSchema(t, s.Service(t))
			s.AddLDIF(t, fixture("alice-pw"))
			checkBind(t, s, aliceDN, "alice-pw", ldap.LDAPResultSuccess)
			checkBind(t, s, aliceDN, "wrong", ldap.LDAPResultInvalidCredentials)

			began = time.Now()
			s.Restart(t)
			t.Logf("%s slapd restarted in %v", kind, time.Since(began))
			s.Service(t)
			checkBind(t, s, aliceDN, "alice-pw", ldap.LDAPResultSuccess)
		})
	}
}

// TestServer_Kill checks that a crashed (SIGKILLed) server is unreachable,
// and comes back with its synced data on Restart.
func TestServer_Kill(t *testing.T) {
	t.Parallel()
	s := slapdtest.Start(t, slapdtest.Options{})
	s.AddLDIF(t, fixture("alice-pw"))
	if !s.Running() {
		t.Fatal("Running() = false after Start")
	}
	s.Kill()
	if s.Running() {
		t.Fatal("Running() = true after Kill")
	}
	if _, err := ldap.DialURL(s.URL); err == nil {
		t.Fatalf("dial %s after Kill succeeded, want connection refused", s.URL)
	}
	s.Restart(t)
	checkBind(t, s, aliceDN, "alice-pw", ldap.LDAPResultSuccess)
	s.Stop()
	s.Stop() // idempotent
	if out, err := exec.Command("pgrep", "-f", s.Dir).CombinedOutput(); err == nil {
		t.Errorf("slapd of %s still running after Stop:\n%s", s.Dir, out)
	}
}

// TestACL checks that examples/slapd/acl.conf gives the service account
// and users what the proxy needs and nothing more, on both kinds.
func TestACL(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			s := slapdtest.Start(t, slapdtest.Options{Kind: kind, NoSync: true})
			s.AddLDIF(t, fixture("alice-pw"))
			svc := s.Service(t)
			alice := s.Dial(t)
			if err := alice.Bind(aliceDN, "alice-pw"); err != nil {
				t.Fatalf("bind as alice: %v", err)
			}
			anon := s.Dial(t)

			t.Run("service-reads-user", func(t *testing.T) {
				e := read(t, svc, bobDN, "objectClass", "oathHOTPToken", "cn", "userPassword")
				wantAttr(t, e, "oathHOTPToken", bobTokenDN)
				wantNoAttr(t, e, "cn", "userPassword")
			})
			t.Run("service-reads-secret", func(t *testing.T) {
				e := read(t, svc, bobTokenDN, "oathSecret", "oathHOTPParams")
				wantAttr(t, e, "oathSecret", "12345678901234567890")
				wantAttr(t, e, "oathHOTPParams", "cn=hotp6,ou=params,dc=example,dc=com")
				e = read(t, svc, "cn=hotp6,ou=params,dc=example,dc=com", "oathOTPLength")
				wantAttr(t, e, "oathOTPLength", "6")
			})
			t.Run("others-never-read-secret", func(t *testing.T) {
				for name, conn := range map[string]*ldap.Conn{"alice": alice, "anonymous": anon} {
					if e := find(t, conn, bobTokenDN, "oathSecret"); e != nil && e.GetAttributeValue("oathSecret") != "" {
						t.Errorf("%s read oathSecret of %s", name, bobTokenDN)
					}
				}
			})
			t.Run("users-read-own-entry-only", func(t *testing.T) {
				wantAttr(t, read(t, alice, aliceDN, "cn"), "cn", "Alice")
				if e := find(t, alice, bobDN, "cn"); e != nil && e.GetAttributeValue("cn") != "" {
					t.Errorf("alice read bob's cn")
				}
			})
			t.Run("service-compare-and-swap-counter", func(t *testing.T) {
				if err := svc.Modify(swapCounter("0", "1")); err != nil {
					t.Fatalf("swap counter 0->1: %v", err)
				}
				err := svc.Modify(swapCounter("0", "1"))
				if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
					t.Fatalf("second swap 0->1: %v, want noSuchAttribute", err)
				}
			})
			t.Run("service-cannot-write-users", func(t *testing.T) {
				req := ldap.NewModifyRequest(bobDN, nil)
				req.Replace("oathHOTPToken", []string{"cn=other,ou=tokens,dc=example,dc=com"})
				err := svc.Modify(req)
				if !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
					t.Fatalf("modify %s as service: %v, want insufficientAccess", bobDN, err)
				}
			})
			t.Run("service-manages-otpme", func(t *testing.T) {
				dn := "cn=session-1,ou=otpme,dc=example,dc=com"
				req := ldap.NewAddRequest(dn, nil)
				req.Attribute("objectClass", []string{"applicationProcess"})
				req.Attribute("cn", []string{"session-1"})
				if err := svc.Add(req); err != nil {
					t.Fatalf("add %s as service: %v", dn, err)
				}
				if err := svc.Del(ldap.NewDelRequest(dn, nil)); err != nil {
					t.Fatalf("delete %s as service: %v", dn, err)
				}
			})
		})
	}
}

func swapCounter(old, new string) *ldap.ModifyRequest {
	req := ldap.NewModifyRequest(bobTokenDN, nil)
	req.Delete("oathHOTPCounter", []string{old})
	req.Add("oathHOTPCounter", []string{new})
	return req
}

// checkOATHSchema checks that cn=Subschema publishes the OATH-LDAP types
// and classes the proxy uses.
func checkOATHSchema(t *testing.T, conn *ldap.Conn) {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest("cn=Subschema", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=subschema)", []string{"attributeTypes", "objectClasses"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read cn=Subschema: %v (%d entries)", err, len(res.Entries))
	}
	defs := strings.Join(res.Entries[0].GetAttributeValues("attributeTypes"), "\n") +
		strings.Join(res.Entries[0].GetAttributeValues("objectClasses"), "\n")
	for _, name := range []string{"oathSecret", "oathHOTPCounter", "oathTOTPLastTimeStep",
		"oathTOTPTimeStepDrift", "oathHOTPToken", "oathTOTPToken", "oathHOTPParams", "oathTOTPUser"} {
		if !strings.Contains(defs, "NAME '"+name+"'") {
			t.Errorf("cn=Subschema has no %s", name)
		}
	}
}

// checkBind binds on a new connection and checks the result code (0 for
// success).
func checkBind(t *testing.T, s *slapdtest.Server, dn, password string, want uint16) {
	t.Helper()
	err := s.Dial(t).Bind(dn, password)
	if want == ldap.LDAPResultSuccess && err != nil || want != ldap.LDAPResultSuccess && !ldap.IsErrorWithCode(err, want) {
		t.Errorf("bind as %s: %v, want result %d", dn, err, want)
	}
}

// find reads one entry; nil when the entry is not visible.
func find(t *testing.T, conn *ldap.Conn, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", attrs, nil))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil
	case err != nil:
		t.Fatalf("read %s: %v", dn, err)
	case len(res.Entries) == 0:
		return nil
	}
	return res.Entries[0]
}

// read is find for an entry that must be visible.
func read(t *testing.T, conn *ldap.Conn, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	e := find(t, conn, dn, attrs...)
	if e == nil {
		t.Fatalf("read %s: not visible", dn)
	}
	return e
}

func wantAttr(t *testing.T, e *ldap.Entry, name, want string) {
	t.Helper()
	if got := e.GetAttributeValue(name); got != want {
		t.Errorf("%s of %s = %q, want %q", name, e.DN, got, want)
	}
}

func wantNoAttr(t *testing.T, e *ldap.Entry, names ...string) {
	t.Helper()
	for _, name := range names {
		if got := e.GetAttributeValues(name); len(got) > 0 {
			t.Errorf("%s of %s is readable: %q", name, e.DN, got)
		}
	}
}
