package otpme

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
)

// withToken runs f on a copy of the token and stores the copy if f
// succeeds, under the write lock.
func (m *MemObjects) withToken(user, name string, f func(t *Token) error) error {
	return m.withUser(user, func(u *memUser) error {
		t, ok := u.tokens[name]
		if !ok {
			return notFound("token", user+"/"+name)
		}
		if err := f(&t); err != nil {
			return err
		}
		u.tokens[name] = t
		return nil
	})
}

// addToken adds an enabled token t (Name and Type set) to user.
func (m *MemObjects) addToken(user string, t Token) error {
	if err := checkName("token", t.Name); err != nil {
		return err
	}
	id, err := m.newID()
	if err != nil {
		return err
	}
	return m.withUser(user, func(u *memUser) error {
		if _, ok := u.tokens[t.Name]; ok {
			return fmt.Errorf("token %q: %w", user+"/"+t.Name, ErrExists)
		}
		t.ID, t.User, t.Enabled = id, user, true
		u.tokens[t.Name] = t
		return nil
	})
}

// AddPasswordToken adds a static device password token and returns its
// generated password, which is stored only hashed ("otpme-token add
// user/name password").
func (m *MemObjects) AddPasswordToken(_ context.Context, user, name string) (Secret, error) {
	pw, err := GeneratePassword(m.rand)
	if err != nil {
		return nil, err
	}
	h, err := HashPassword(pw, m.rand)
	if err != nil {
		return nil, err
	}
	if err := m.addToken(user, Token{Name: name, Type: TokenPassword, PasswordHash: h}); err != nil {
		return nil, err
	}
	return pw, nil
}

// SetTokenPassword sets a new device password and returns it; nil
// generates one ("otpme-token password user/name [newpass]").
func (m *MemObjects) SetTokenPassword(_ context.Context, user, name string, pw Secret) (Secret, error) {
	if pw == nil {
		var err error
		if pw, err = GeneratePassword(m.rand); err != nil {
			return nil, err
		}
	}
	h, err := HashPassword(pw, m.rand)
	if err != nil {
		return nil, err
	}
	return pw, m.withToken(user, name, func(t *Token) error {
		if t.Type != TokenPassword {
			return fmt.Errorf("token %q is %s, not password: %w", user+"/"+name, t.Type, ErrInvalid)
		}
		t.PasswordHash = h
		return nil
	})
}

// AddMOTPToken adds an mOTP token ("otpme-token add user/name motp"). A
// nil secret generates 16 hex characters, a nil PIN four digits; read them
// back with Token to set up the device.
func (m *MemObjects) AddMOTPToken(_ context.Context, user, name string, secret, pin Secret) error {
	var err error
	if secret == nil {
		if secret, err = randomSecret(m.rand, 8); err != nil {
			return err
		}
	}
	if pin == nil {
		if pin, err = randomPIN(m.rand, 4); err != nil {
			return err
		}
	}
	return m.addToken(user, Token{Name: name, Type: TokenMOTP, Secret: slices.Clone(secret), PIN: slices.Clone(pin)})
}

// AddOATHToken adds an HOTP or TOTP token whose OATH-LDAP entry is dn
// (the secret and counter stay there).
func (m *MemObjects) AddOATHToken(_ context.Context, user, name string, typ TokenType, dn string) error {
	if !typ.OATH() || dn == "" {
		return fmt.Errorf("token %q: type %q with entry %q: %w", user+"/"+name, typ, dn, ErrInvalid)
	}
	return m.addToken(user, Token{Name: name, Type: typ, DN: dn})
}

// DelToken deletes the token; its sessions end ("otpme-token del").
func (m *MemObjects) DelToken(ctx context.Context, user, name string) error {
	var id string
	err := m.withUser(user, func(u *memUser) error {
		t, ok := u.tokens[name]
		if !ok {
			return notFound("token", user+"/"+name)
		}
		id = t.ID
		delete(u.tokens, name)
		return nil
	})
	if err != nil {
		return err
	}
	return m.revoke(ctx, SessionFilter{Token: id})
}

// RenameToken renames the token; its groups and sessions stay.
func (m *MemObjects) RenameToken(_ context.Context, user, old, name string) error {
	if err := checkName("token", name); err != nil {
		return err
	}
	return m.withUser(user, func(u *memUser) error {
		t, ok := u.tokens[old]
		switch {
		case !ok:
			return notFound("token", user+"/"+old)
		case u.tokens[name].ID != "":
			return fmt.Errorf("token %q: %w", user+"/"+name, ErrExists)
		}
		t.Name = name
		delete(u.tokens, old)
		u.tokens[name] = t
		return nil
	})
}

// SetTokenEnabled enables or disables the token; a disabled token's
// sessions end.
func (m *MemObjects) SetTokenEnabled(ctx context.Context, user, name string, on bool) error {
	if err := m.withToken(user, name, func(t *Token) error { t.Enabled = on; return nil }); err != nil {
		return err
	}
	if on {
		return nil
	}
	return m.revalidate(ctx, user)
}

// SetTokenDescription sets the token's description.
func (m *MemObjects) SetTokenDescription(_ context.Context, user, name, d string) error {
	return m.withToken(user, name, func(t *Token) error { t.Description = d; return nil })
}

// TokenAddGroup allows the token for the access group and its children
// ("otpme-token add_group user/name group").
func (m *MemObjects) TokenAddGroup(_ context.Context, user, name, group string) error {
	return m.withToken(user, name, func(t *Token) error {
		if _, ok := m.groups[group]; !ok {
			return notFound("access group", group)
		}
		if !t.HasGroup(group) {
			t.Groups = append(t.Groups, group)
		}
		return nil
	})
}

// TokenRemoveGroup takes the access group from the token ("otpme-token
// remove_group"); sessions that no longer have a group end.
func (m *MemObjects) TokenRemoveGroup(ctx context.Context, user, name, group string) error {
	err := m.withToken(user, name, func(t *Token) error {
		if !t.HasGroup(group) {
			return fmt.Errorf("token %q has no access group %q: %w", user+"/"+name, group, ErrNotFound)
		}
		t.Groups = slices.DeleteFunc(t.Groups, func(g string) bool { return g == group })
		return nil
	})
	if err != nil {
		return err
	}
	return m.revalidate(ctx, user)
}

// SetMOTPWindow sets an mOTP token's window in 10-second steps each way
// (0: DefaultMOTPWindow).
func (m *MemObjects) SetMOTPWindow(_ context.Context, user, name string, steps int) error {
	if steps < 0 || steps > MaxMOTPWindow {
		return fmt.Errorf("mOTP window %d of %q: 0..%d: %w", steps, user+"/"+name, MaxMOTPWindow, ErrInvalid)
	}
	return m.withToken(user, name, func(t *Token) error { t.Window = steps; return nil })
}

func randomSecret(r io.Reader, n int) (Secret, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	out := make([]byte, hex.EncodedLen(n))
	hex.Encode(out, b)
	return Secret(out), nil
}

func randomPIN(r io.Reader, n int) (Secret, error) {
	b := make([]byte, n)
	for i := range b {
		var x [1]byte
		for { // rejection sampling: 250 is the largest multiple of 10 <= 256
			if _, err := io.ReadFull(r, x[:]); err != nil {
				return nil, fmt.Errorf("generate PIN: %w", err)
			}
			if x[0] < 250 {
				break
			}
		}
		b[i] = '0' + x[0]%10
	}
	return Secret(b), nil
}
