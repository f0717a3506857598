package main

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/schema"
)

// Directory entries the admin verbs make besides the OTPme objects: users'
// uid= entries and OATH-LDAP token and params entries.

// dir returns the directory as the admin account.
func (a *admin) dir() proxy.ObjectDirectory { return proxy.ServiceObjectDirectory(a.sd) }

// readEntry reads the entry dn with attrs; ok is false if it does not exist.
func (a *admin) readEntry(dn string, attrs ...string) (schema.Entry, bool, error) {
	es, err := a.dir().SearchSubtree(a.ctx, dn, "(objectClass=*)", attrs)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return schema.Entry{}, false, nil
	}
	if err != nil {
		return schema.Entry{}, false, fmt.Errorf("read %s: %w", dn, err)
	}
	if len(es) == 0 {
		return schema.Entry{}, false, nil
	}
	best := es[0]
	for _, e := range es[1:] {
		if len(e.DN) < len(best.DN) {
			best = e
		}
	}
	return best, true, nil
}

// hasValue reports whether attr of e holds v (case-insensitive).
func hasValue(e schema.Entry, attr, v string) bool {
	for _, x := range e.Values(attr) {
		if strings.EqualFold(string(x), v) {
			return true
		}
	}
	return false
}

// deleteEntry deletes dn; a missing entry is not an error.
func (a *admin) deleteEntry(dn string) error {
	err := a.dir().Del(a.ctx, ldap.NewDelRequest(dn, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return fmt.Errorf("delete %s: %w", dn, err)
	}
	return nil
}

// rdnValue escapes v for use as an RDN value.
func rdnValue(v string) string { return ldap.EscapeDN(v) }

// ssha returns the {SSHA} hash of password for userPassword.
func ssha(password []byte) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.New()
	h.Write(password)
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// addPersonEntry creates uid=name under base as an inetOrgPerson, with
// userPassword if password is not empty.
func (a *admin) addPersonEntry(dn, name string, password []byte) error {
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{name})
	req.Attribute("cn", []string{name})
	req.Attribute("sn", []string{name})
	if len(password) > 0 {
		req.Attribute("userPassword", []string{ssha(password)})
	}
	if err := a.dir().Add(a.ctx, req); err != nil {
		return fmt.Errorf("create %s: %w", dn, err)
	}
	return nil
}
