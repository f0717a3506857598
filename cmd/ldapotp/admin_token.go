package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// tokenVerbs are "otpme-token"'s verbs.
func tokenVerbs() []verb {
	return []verb{
		{name: "add", args: "USER/NAME password|motp|hotp|totp", min: 2, max: 2,
			flags: []string{"digits", "algorithm", "period", "look-ahead", "window", "qr", "issuer"},
			help:  "add a token; prints its password, mOTP secret or otpauth URI and QR code once", run: tokenAdd},
		{name: "del", args: "USER/NAME", min: 1, max: 1, help: "delete a token (and its OATH entries)", run: tokenDel},
		{name: "show", args: "[USER[/NAME]]", max: 1, help: "list tokens", run: tokenShow},
		{name: "rename", args: "USER/OLD NEW", min: 2, max: 2, help: "rename a token",
			run: tokenEdit(func(ctx context.Context, m *otpme.MemObjects, u, n string, a []string) error {
				return m.RenameToken(ctx, u, n, a[0])
			})},
		{name: "enable", args: "USER/NAME", min: 1, max: 1, help: "enable a token",
			run: tokenEdit(func(ctx context.Context, m *otpme.MemObjects, u, n string, _ []string) error {
				return m.SetTokenEnabled(ctx, u, n, true)
			})},
		{name: "disable", args: "USER/NAME", min: 1, max: 1, help: "disable a token (its sessions end)",
			run: tokenEdit(func(ctx context.Context, m *otpme.MemObjects, u, n string, _ []string) error {
				return m.SetTokenEnabled(ctx, u, n, false)
			})},
		{name: "add_group", args: "USER/NAME GROUP", min: 2, max: 2, help: "allow the token for an access group (and its children)",
			run: tokenEdit(func(ctx context.Context, m *otpme.MemObjects, u, n string, a []string) error {
				return m.TokenAddGroup(ctx, u, n, a[0])
			})},
		{name: "remove_group", args: "USER/NAME GROUP", min: 2, max: 2, help: "take an access group from the token",
			run: tokenEdit(func(ctx context.Context, m *otpme.MemObjects, u, n string, a []string) error {
				return m.TokenRemoveGroup(ctx, u, n, a[0])
			})},
		{name: "password", args: "USER/NAME [NEWPASS|-]", min: 1, max: 2,
			help: "set a device password (-: read it from stdin; generated and printed if not given)", run: tokenPassword},
		{name: "gen", args: "USER/NAME", min: 1, max: 1, help: "print the token's current code (motp, hotp, totp)", run: tokenGen},
		{name: "description", args: "USER/NAME TEXT", min: 2, max: 2, help: "set the description",
			run: tokenEdit(func(ctx context.Context, m *otpme.MemObjects, u, n string, a []string) error {
				return m.SetTokenDescription(ctx, u, n, a[0])
			})},
		{name: "import", args: "USER/NAME URI|-", min: 2, max: 2, flags: []string{"look-ahead", "window"},
			help: "add an hotp/totp token from an otpauth:// URI (-: read it from stdin)", run: tokenImport},
		{name: "resync", args: "USER/NAME CODE1 CODE2", min: 3, max: 3, help: "resynchronise an hotp token with two consecutive codes", run: tokenResync},
	}
}

// splitToken splits USER/NAME.
func splitToken(s string) (user, name string, err error) {
	user, name, ok := strings.Cut(s, "/")
	if !ok || user == "" || name == "" || strings.Contains(name, "/") {
		return "", "", usagef("token %q: want USER/NAME", s)
	}
	return user, name, nil
}

// tokenEdit is a verb "USER/NAME ARGS…" that is one MemObjects edit.
func tokenEdit(f func(ctx context.Context, m *otpme.MemObjects, user, name string, rest []string) error) func(*admin, []string) error {
	return func(a *admin, args []string) error {
		user, name, err := splitToken(args[0])
		if err != nil {
			return err
		}
		return a.edit(func(m *otpme.MemObjects) error { return f(a.ctx, m, user, name, args[1:]) })
	}
}

// tokenAdd adds a token of the given type.
func tokenAdd(a *admin, args []string) error {
	user, name, err := splitToken(args[0])
	if err != nil {
		return err
	}
	switch otpme.TokenType(args[1]) {
	case otpme.TokenPassword:
		return a.addPasswordToken(user, name)
	case otpme.TokenMOTP:
		return a.addMOTPToken(user, name)
	case otpme.TokenHOTP, otpme.TokenTOTP:
		return a.addOATHToken(user, name, otpme.TokenType(args[1]))
	}
	return usagef("token type %q: must be password, motp, hotp or totp", args[1])
}

// addPasswordToken adds a static password token and prints the password.
func (a *admin) addPasswordToken(user, name string) error {
	var pw otpme.Secret
	err := a.edit(func(m *otpme.MemObjects) error {
		var err error
		pw, err = m.AddPasswordToken(a.ctx, user, name)
		return err
	})
	if err != nil {
		return err
	}
	a.printf("Token password: %s\n", string(pw))
	pw.Zero()
	return nil
}

// addMOTPToken adds an mOTP token and prints its secret and PIN for the
// device.
func (a *admin) addMOTPToken(user, name string) error {
	var tok otpme.Token
	err := a.edit(func(m *otpme.MemObjects) error {
		if err := m.AddMOTPToken(a.ctx, user, name, nil, nil); err != nil {
			return err
		}
		var err error
		tok, err = m.Token(a.ctx, user, name)
		return err
	})
	if err != nil {
		return err
	}
	a.printf("mOTP secret: %s\nmOTP PIN: %s\n", string(tok.Secret), string(tok.PIN))
	return nil
}

// addOATHToken makes a new secret and creates the token with it, then
// shows the otpauth URI and QR code.
func (a *admin) addOATHToken(user, name string, kind otpme.TokenType) error {
	spec, err := a.oathSpecFromFlags(kind)
	if err != nil {
		return err
	}
	secret := make([]byte, spec.secretSize())
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("generate secret: %w", err)
	}
	defer clear(secret)
	if err := a.createOATHToken(spec, user, name, secret, ""); err != nil {
		return err
	}
	return a.showOTPAuth(spec, user, name, secret)
}

// createOATHToken creates the OATH-LDAP entries, the OTPme token and the
// user entry's pointer; a failure removes what was made.
func (a *admin) createOATHToken(spec oathSpec, user, name string, secret []byte, last string) error {
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	u, toks, ok := findUser(snap, user)
	if !ok {
		return fmt.Errorf("user %q: %w", user, otpme.ErrNotFound)
	}
	for _, t := range toks {
		if t.Name == name {
			return fmt.Errorf("token %q: %w", user+"/"+name, otpme.ErrExists)
		}
	}
	if err := a.addOATHEntries(spec, user, name, secret, last); err != nil {
		return err
	}
	tokenDN, _ := a.oathDNs(user, name)
	err = a.edit(func(m *otpme.MemObjects) error { return m.AddOATHToken(a.ctx, user, name, spec.kind, tokenDN) })
	if err != nil {
		return joinCleanup(err, a.removeOATH(u, otpme.Token{Type: spec.kind, DN: tokenDN}, false))
	}
	return a.linkUserEntry(u, spec.kind, tokenDN)
}

// tokenDel deletes a token and the OATH entries made with it.
func tokenDel(a *admin, args []string) error {
	u, tok, err := a.lookupToken(args[0])
	if err != nil {
		return err
	}
	if err := a.edit(func(m *otpme.MemObjects) error { return m.DelToken(a.ctx, u.Name, tok.Name) }); err != nil {
		return err
	}
	return a.removeOATH(u, tok, true)
}

// lookupToken reads the directory's objects and returns the token named
// USER/NAME and its user.
func (a *admin) lookupToken(arg string) (otpme.User, otpme.Token, error) {
	user, name, err := splitToken(arg)
	if err != nil {
		return otpme.User{}, otpme.Token{}, err
	}
	snap, err := a.snapshot()
	if err != nil {
		return otpme.User{}, otpme.Token{}, err
	}
	return findToken(snap, user, name)
}

// findToken returns user/name of snap and its user.
func findToken(snap otpme.Snapshot, user, name string) (otpme.User, otpme.Token, error) {
	u, toks, ok := findUser(snap, user)
	if !ok {
		return u, otpme.Token{}, fmt.Errorf("user %q: %w", user, otpme.ErrNotFound)
	}
	for _, t := range toks {
		if t.Name == name {
			return u, t, nil
		}
	}
	return u, otpme.Token{}, fmt.Errorf("token %q: %w", user+"/"+name, otpme.ErrNotFound)
}

// tokenShow lists the tokens (of a user, or one).
func tokenShow(a *admin, args []string) error {
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	user, name, _ := strings.Cut(strings.Join(args, ""), "/")
	var js []tokenJSON
	t := table{head: []string{"token", "token type", "status", "access groups", "entry", "description"}}
	for _, k := range snap.Tokens {
		if user != "" && k.User != user || name != "" && k.Name != name {
			continue
		}
		js = append(js, toTokenJSON(k))
		t.rows = append(t.rows, []string{k.User + "/" + k.Name, string(k.Type), onOff(k.Enabled),
			strings.Join(k.Groups, ","), k.DN, k.Description})
	}
	if a.g.json {
		return writeJSON(a.out, nonNilSlice(js))
	}
	t.write(a.out, "")
	return nil
}

// tokenPassword sets a device password; a generated one is printed.
func tokenPassword(a *admin, args []string) error {
	user, name, err := splitToken(args[0])
	if err != nil {
		return err
	}
	given, err := a.optionalSecret(args, 1)
	if err != nil {
		return err
	}
	defer given.Zero()
	var pw otpme.Secret
	err = a.edit(func(m *otpme.MemObjects) error {
		var err error
		pw, err = m.SetTokenPassword(a.ctx, user, name, given)
		return err
	})
	if err != nil {
		return err
	}
	if given == nil {
		a.printf("Token password: %s\n", string(pw))
	}
	return nil
}

// optionalSecret returns args[i], a password or secret to set: "-" reads
// it from stdin (out of the process list), and nil means none was given
// (one is generated). An empty one is refused.
func (a *admin) optionalSecret(args []string, i int) (otpme.Secret, error) {
	if len(args) <= i {
		return nil, nil
	}
	s, err := a.passwordArg(args[i])
	if err == nil && len(s) == 0 {
		err = usagef("empty secret: give one, or none to have one generated")
	}
	return s, err
}

// tokenGen prints the token's current code, as "otpme-token gen".
func tokenGen(a *admin, args []string) error {
	_, tok, err := a.lookupToken(args[0])
	if err != nil {
		return err
	}
	now := time.Now()
	switch {
	case tok.Type == otpme.TokenMOTP:
		a.printf("%s\n", otpme.MOTPCode(tok.Secret, tok.PIN, now))
		return nil
	case tok.Type.OATH():
		code, err := a.oathCode(tok, now.Unix())
		if err != nil {
			return err
		}
		a.printf("%s\n", code)
		return nil
	}
	return fmt.Errorf("token %q is a %s token: it has no codes", args[0], tok.Type)
}
