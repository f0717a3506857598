package otpme

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// Snapshot is every object of a MemObjects as plain values: what a
// directory-backed object source loads and writes back. Each list is sorted
// by name (Tokens by user, then name).
type Snapshot struct {
	Users   []User
	Tokens  []Token
	Groups  []Group
	Clients []Client
}

// Snapshot returns a deep copy of every object, in a deterministic order
// (see Snapshot).
func (m *MemObjects) Snapshot() Snapshot {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var s Snapshot
	for _, un := range slices.Sorted(maps.Keys(m.users)) {
		u := m.users[un]
		s.Users = append(s.Users, u.User)
		for _, tn := range slices.Sorted(maps.Keys(u.tokens)) {
			s.Tokens = append(s.Tokens, cloneToken(u.tokens[tn]))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(m.groups)) {
		s.Groups = append(s.Groups, cloneGroup(m.groups[n]))
	}
	for _, n := range slices.Sorted(maps.Keys(m.clients)) {
		s.Clients = append(s.Clients, snapshotClient(m.clients[n]))
	}
	return s
}

// NewMemObjectsFrom returns a MemObjects holding deep copies of the objects
// of s, IDs kept. References between objects (a token's or client's access
// groups, child groups) are not checked: a name that refers to nothing is
// kept and grants nothing, as in the engine. It returns an error wrapping
// ErrInvalid for an empty name or ID (clients have no ID) and for a token
// whose user is not in s, and one wrapping ErrExists for two objects of a
// kind with the same name (tokens: of the same user) or the same ID.
func NewMemObjectsFrom(s Snapshot) (*MemObjects, error) {
	m := NewMemObjects()
	if err := m.loadUsers(s.Users); err != nil {
		return nil, err
	}
	if err := m.loadTokens(s.Tokens); err != nil {
		return nil, err
	}
	if err := m.loadGroups(s.Groups); err != nil {
		return nil, err
	}
	if err := m.loadClients(s.Clients); err != nil {
		return nil, err
	}
	return m, nil
}

// idSet finds duplicate IDs of one kind of object.
type idSet map[string]bool

// add records the ID of the object kind/name and fails if it is empty or
// seen before.
func (s idSet) add(kind, name, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%s %q has no ID: %w", kind, name, ErrInvalid)
	case s[id]:
		return fmt.Errorf("%s %q: ID %q used twice: %w", kind, name, id, ErrExists)
	}
	s[id] = true
	return nil
}

func (m *MemObjects) loadUsers(users []User) error {
	ids := idSet{}
	for _, u := range users {
		if err := checkLoaded("user", u.Name, m.users[u.Name] != nil); err != nil {
			return err
		}
		if err := ids.add("user", u.Name, u.ID); err != nil {
			return err
		}
		m.users[u.Name] = &memUser{User: u, tokens: map[string]Token{}}
	}
	return nil
}

func (m *MemObjects) loadTokens(tokens []Token) error {
	ids := idSet{}
	for _, t := range tokens {
		full := t.User + "/" + t.Name
		u, ok := m.users[t.User]
		if !ok {
			return fmt.Errorf("token %q: user %q is not in the snapshot: %w", full, t.User, ErrInvalid)
		}
		_, dup := u.tokens[t.Name]
		if err := checkLoaded("token", t.Name, dup); err != nil {
			return fmt.Errorf("user %q: %w", t.User, err)
		}
		if err := ids.add("token", full, t.ID); err != nil {
			return err
		}
		u.tokens[t.Name] = cloneToken(t)
	}
	return nil
}

func (m *MemObjects) loadGroups(groups []Group) error {
	ids := idSet{}
	for _, g := range groups {
		_, dup := m.groups[g.Name]
		if err := checkLoaded("access group", g.Name, dup); err != nil {
			return err
		}
		if err := ids.add("access group", g.Name, g.ID); err != nil {
			return err
		}
		m.groups[g.Name] = cloneGroup(g)
	}
	return nil
}

func (m *MemObjects) loadClients(clients []Client) error {
	for _, c := range clients {
		_, dup := m.clients[c.Name]
		if err := checkLoaded("client", c.Name, dup); err != nil {
			return err
		}
		m.clients[c.Name] = snapshotClient(c)
	}
	return nil
}

// checkLoaded refuses an empty name and one that is loaded already.
func checkLoaded(kind, name string, dup bool) error {
	switch {
	case name == "":
		return fmt.Errorf("%s with an empty name: %w", kind, ErrInvalid)
	case dup:
		return fmt.Errorf("%s %q: %w", kind, name, ErrExists)
	}
	return nil
}

// snapshotClient is a deep copy of c (cloneClient and the identifying
// lists).
func snapshotClient(c Client) Client {
	c = cloneClient(c)
	c.CertSubjects, c.Listeners = slices.Clone(c.CertSubjects), slices.Clone(c.Listeners)
	return c
}

// The edits below belong with the other user and client verbs; they live
// here because they were added with the directory-backed objects that
// need them.

// SetUserBindDN sets the directory account the user binds as ("" unsets
// it). The DN is not checked here; the directory checks its syntax.
func (m *MemObjects) SetUserBindDN(_ context.Context, name, dn string) error {
	return m.withUser(name, func(u *memUser) error { u.BindDN = dn; return nil })
}

// AddClientCertSubject makes a TLS client certificate subject identify the
// client.
func (m *MemObjects) AddClientCertSubject(_ context.Context, name, subject string) error {
	return m.editClientList(name, func(c *Client) *[]string { return &c.CertSubjects }, subject, true)
}

// RemoveClientCertSubject undoes AddClientCertSubject.
func (m *MemObjects) RemoveClientCertSubject(_ context.Context, name, subject string) error {
	return m.editClientList(name, func(c *Client) *[]string { return &c.CertSubjects }, subject, false)
}

// AddClientListener makes binds through the listener address identify the
// client.
func (m *MemObjects) AddClientListener(_ context.Context, name, addr string) error {
	return m.editClientList(name, func(c *Client) *[]string { return &c.Listeners }, addr, true)
}

// RemoveClientListener undoes AddClientListener.
func (m *MemObjects) RemoveClientListener(_ context.Context, name, addr string) error {
	return m.editClientList(name, func(c *Client) *[]string { return &c.Listeners }, addr, false)
}

// editClientList adds v to (add) or removes it from the list field of the
// client. It always builds a new slice, so copies handed out before keep
// their values.
func (m *MemObjects) editClientList(name string, field func(*Client) *[]string, v string, add bool) error {
	if v == "" {
		return fmt.Errorf("client %q: empty value: %w", name, ErrInvalid)
	}
	return m.withClient(name, func(c *Client) error {
		list := field(c)
		has := slices.Contains(*list, v)
		switch {
		case add && !has:
			*list = append(slices.Clip(*list), v)
		case !add && !has:
			return fmt.Errorf("client %q has no %q: %w", name, v, ErrNotFound)
		case !add:
			*list = slices.DeleteFunc(slices.Clone(*list), func(s string) bool { return s == v })
		}
		return nil
	})
}
