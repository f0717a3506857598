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
	fails    map[Scope]*failSet
	codes    map[usedCode]time.Time // expiry
	sessions map[string]Session
	// byUser indexes sessions by user, so that a login looks at its
	// user's sessions only: a scan of all of them under mu made a session
	// re-bind cost 206 µs beside 10,000 other sessions instead of 7 µs
	// (BenchmarkEngine_VerifySessionHitSessions). Change sessions only
	// through putSession and dropSession, which keep it.
	byUser map[string]map[string]struct{}
}

type usedCode struct{ token, code string }

// failSet is the failures of one scope: the latest distinct password
// hashes, oldest first, at most MaxFailHashes, and how many were dropped.
type failSet struct {
	hashes  []string
	dropped int
}

func (f *failSet) count() int {
	if f == nil {
		return 0
	}
	return len(f.hashes) + f.dropped
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		fails:    map[Scope]*failSet{},
		codes:    map[usedCode]time.Time{},
		sessions: map[string]Session{},
		byUser:   map[string]map[string]struct{}{},
	}
}

// putSession stores s (m.mu held).
func (m *MemStore) putSession(s Session) {
	if old, ok := m.sessions[s.ID]; ok && old.User != s.User {
		m.dropSession(s.ID)
	}
	m.sessions[s.ID] = s
	ids := m.byUser[s.User]
	if ids == nil {
		ids = map[string]struct{}{}
		m.byUser[s.User] = ids
	}
	ids[s.ID] = struct{}{}
}

// dropSession deletes the session id, if stored (m.mu held).
func (m *MemStore) dropSession(id string) {
	s, ok := m.sessions[id]
	if !ok {
		return
	}
	delete(m.sessions, id)
	ids := m.byUser[s.User]
	delete(ids, id)
	if len(ids) == 0 {
		delete(m.byUser, s.User)
	}
}

// AddFail implements Store.
func (m *MemStore) AddFail(_ context.Context, scope Scope, pwHash string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fails[scope]
	if f == nil {
		f = &failSet{}
		m.fails[scope] = f
	}
	if slices.Contains(f.hashes, pwHash) {
		return f.count(), nil
	}
	f.hashes = append(f.hashes, pwHash)
	if len(f.hashes) > MaxFailHashes {
		f.hashes = slices.Delete(f.hashes, 0, 1)
		f.dropped++
	}
	return f.count(), nil
}

// Fails implements Store.
func (m *MemStore) Fails(_ context.Context, scope Scope) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fails[scope].count(), nil
}

// ResetFails implements Store.
func (m *MemStore) ResetFails(_ context.Context, scope Scope) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.fails[scope].count()
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
		m.putSession(cloneSession(s))
	}
	return nil
}

// Sessions implements Store.
func (m *MemStore) Sessions(_ context.Context, user string) ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Session
	if user != "" {
		for id := range m.byUser[user] {
			out = append(out, cloneSession(m.sessions[id]))
		}
		return out, nil
	}
	for _, s := range m.sessions {
		out = append(out, cloneSession(s))
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
	m.putSession(s)
	return cloneSession(s), nil
}

// DeleteSessions implements Store.
func (m *MemStore) DeleteSessions(_ context.Context, f SessionFilter) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	candidates := m.sessions // by ID or by user, else all
	switch {
	case f.ID != "":
		s, ok := m.sessions[f.ID]
		candidates = map[string]Session{}
		if ok {
			candidates[f.ID] = s
		}
	case f.User != "":
		candidates = make(map[string]Session, len(m.byUser[f.User]))
		for id := range m.byUser[f.User] {
			candidates[id] = m.sessions[id]
		}
	}
	n := 0
	for id, s := range candidates {
		if f.Match(s) {
			m.dropSession(id)
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
			m.dropSession(id)
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
