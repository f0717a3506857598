package otpme

import (
	"context"
	"fmt"
)

// withUser runs f on the user name under the write lock.
func (m *MemObjects) withUser(name string, f func(u *memUser) error) error {
	m.lock()
	defer m.mu.Unlock()
	u, ok := m.users[name]
	if !ok {
		return notFound("user", name)
	}
	return f(u)
}

// AddUser adds an enabled user with the defaults (sessions off, max_fail
// DefaultMaxFail) and no token ("otpme-user add").
func (m *MemObjects) AddUser(_ context.Context, name string) error {
	if err := checkName("user", name); err != nil {
		return err
	}
	id, err := m.newID()
	if err != nil {
		return err
	}
	m.lock()
	defer m.mu.Unlock()
	if _, ok := m.users[name]; ok {
		return fmt.Errorf("user %q: %w", name, ErrExists)
	}
	m.users[name] = &memUser{User: User{ID: id, Name: name, Enabled: true, MaxFail: DefaultMaxFail},
		tokens: map[string]Token{}}
	return nil
}

// DelUser deletes the user and its tokens; its sessions end ("otpme-user
// del").
func (m *MemObjects) DelUser(ctx context.Context, name string) error {
	var id string
	err := m.withUser(name, func(u *memUser) error {
		id = u.ID
		delete(m.users, name)
		return nil
	})
	if err != nil {
		return err
	}
	return m.revoke(ctx, SessionFilter{User: id})
}

// RenameUser renames the user; its tokens, sessions and fail counts stay
// ("otpme-user rename").
func (m *MemObjects) RenameUser(_ context.Context, old, name string) error {
	if err := checkName("user", name); err != nil {
		return err
	}
	return m.withUser(old, func(u *memUser) error {
		if _, ok := m.users[name]; ok {
			return fmt.Errorf("user %q: %w", name, ErrExists)
		}
		u.Name = name
		for n, t := range u.tokens {
			t.User = name
			u.tokens[n] = t
		}
		delete(m.users, old)
		m.users[name] = u
		return nil
	})
}

// SetUserEnabled enables or disables the user ("otpme-user enable" /
// "disable"); a disabled user's sessions end.
func (m *MemObjects) SetUserEnabled(ctx context.Context, name string, on bool) error {
	if err := m.withUser(name, func(u *memUser) error { u.Enabled = on; return nil }); err != nil {
		return err
	}
	if on {
		return nil
	}
	return m.revalidate(ctx, name)
}

// SetUserSessions turns sessions for logins without access group on or off
// ("otpme-user enable_sessions" / "disable_sessions"). Existing sessions
// run until they expire.
func (m *MemObjects) SetUserSessions(_ context.Context, name string, on bool) error {
	return m.withUser(name, func(u *memUser) error { u.Sessions = on; return nil })
}

// SetUserMaxFail sets the user's max_fail (0: never locked).
func (m *MemObjects) SetUserMaxFail(_ context.Context, name string, n int) error {
	if n < 0 {
		return fmt.Errorf("max_fail of user %q = %d: %w", name, n, ErrInvalid)
	}
	return m.withUser(name, func(u *memUser) error { u.MaxFail = n; return nil })
}

// SetUserDescription sets the user's description.
func (m *MemObjects) SetUserDescription(_ context.Context, name, d string) error {
	return m.withUser(name, func(u *memUser) error { u.Description = d; return nil })
}
