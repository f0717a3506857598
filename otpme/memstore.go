package otpme

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemStore is a Store in memory, for one proxy (or several engines in one
// process). The zero value is not usable; call NewMemStore.
type MemStore struct {
	mu       sync.Mutex
	fails    map[Scope]map[string]struct{}
	codes    map[usedCode]time.Time // expiry
	sessions map[string]Session
}

type usedCode struct{ token, code string }

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		fails:    map[Scope]map[string]struct{}{},
		codes:    map[usedCode]time.Time{},
		sessions: map[string]Session{},
	}
}

// AddFail implements Store.
func (m *MemStore) AddFail(_ context.Context, scope Scope, pwHash string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.fails[scope]
	if set == nil {
		set = map[string]struct{}{}
		m.fails[scope] = set
	}
	set[pwHash] = struct{}{}
	return len(set), nil
}

// Fails implements Store.
func (m *MemStore) Fails(_ context.Context, scope Scope) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.fails[scope]), nil
}

// ResetFails implements Store.
func (m *MemStore) ResetFails(_ context.Context, scope Scope) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.fails[scope])
	delete(m.fails, scope)
	return n, nil
}

// ResetUserFails implements Store.
func (m *MemStore) ResetUserFails(_ context.Context, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.fails {
		if s.User == user {
			delete(m.fails, s)
		}
	}
	return nil
}

// UseCode implements Store.
func (m *MemStore) UseCode(_ context.Context, token, code string, now, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := usedCode{token, code}
	if exp, ok := m.codes[k]; ok && exp.After(now) {
		return false, nil
	}
	m.codes[k] = expires
	return true, nil
}

// CreateSessions implements Store.
func (m *MemStore) CreateSessions(_ context.Context, ss []Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, s := range ss {
		_, dup := m.sessions[s.ID]
		if dup || slices.ContainsFunc(ss[:i], func(o Session) bool { return o.ID == s.ID }) {
			return fmt.Errorf("create session %s: %w", s.ID, ErrSessionExists)
		}
	}
	for _, s := range ss {
		m.sessions[s.ID] = cloneSession(s)
	}
	return nil
}

// Sessions implements Store.
func (m *MemStore) Sessions(_ context.Context, user string) ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Session
	for _, s := range m.sessions {
		if user == "" || s.User == user {
			out = append(out, cloneSession(s))
		}
	}
	return out, nil
}

// CountLogin implements Store.
func (m *MemStore) CountLogin(_ context.Context, seen Session, now time.Time) (Session, error) {
	id := seen.ID
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if expired, _ := s.Expired(now); !ok || expired {
		return Session{}, fmt.Errorf("count login of session %s: %w", id, ErrSessionNotFound)
	}
	if s.MaxLogin > 0 && s.Logins >= s.MaxLogin {
		return Session{}, fmt.Errorf("count login of session %s: %w", id, ErrMaxLogin)
	}
	s.Logins++
	s.LastUsed = now
	m.sessions[id] = s
	return cloneSession(s), nil
}

// DeleteSessions implements Store.
func (m *MemStore) DeleteSessions(_ context.Context, f SessionFilter) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if f.Match(s) {
			delete(m.sessions, id)
			n++
		}
	}
	return n, nil
}

// Purge implements Store.
func (m *MemStore) Purge(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if expired, _ := s.Expired(now); expired {
			delete(m.sessions, id)
			n++
		}
	}
	for k, exp := range m.codes {
		if !exp.After(now) {
			delete(m.codes, k)
			n++
		}
	}
	return n, nil
}

// cloneSession copies the byte slices so that callers cannot change what
// the store holds.
func cloneSession(s Session) Session {
	s.Salt = slices.Clone(s.Salt)
	s.PasswordHash = slices.Clone(s.PasswordHash)
	s.LogoutHash = slices.Clone(s.LogoutHash)
	return s
}
