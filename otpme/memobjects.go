package otpme

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
)

// MemObjects errors (besides ErrNotFound).
var (
	// ErrExists: an object of that name exists already.
	ErrExists = errors.New("otpme: object exists")
	// ErrInvalid: a name or value the operation cannot take.
	ErrInvalid = errors.New("otpme: invalid value")
)

// Revoker ends sessions after an edit that takes something away. *Engine
// implements it.
type Revoker interface {
	// DeleteSessions deletes the sessions matching f.
	DeleteSessions(ctx context.Context, f SessionFilter) (int, error)
	// Revalidate deletes the user's sessions that can no longer be used.
	Revalidate(ctx context.Context, user string) (int, error)
}

// MemObjects is an Objects held in memory, with the edits of the OTPme
// command line (user, token, group and client verbs) so that the guide's
// walkthrough can be driven in a test and the CLI has the operations to
// mirror. Renames keep every reference (IDs never change). Edits that take
// something away (disable, delete, remove a group from a token, remove a
// child group) call the Revoker, if one is set, so that the sessions that
// lose their ground end at once. It is safe for concurrent use.
type MemObjects struct {
	// mu guards everything below; write-lock it only with lock, which
	// counts the edit.
	mu      sync.RWMutex
	edits   uint64 // how many times mu was write-locked
	users   map[string]*memUser
	groups  map[string]Group
	clients map[string]Client
	revoker Revoker
	rand    io.Reader
	// graph is the access groups as of edit number graph.Load().edits.
	graph atomic.Pointer[memGraph]
}

type memGraph struct {
	edits uint64
	ag    *AccessGroups
}

// lock write-locks m for an edit.
func (m *MemObjects) lock() {
	m.mu.Lock()
	m.edits++
}

// AccessGroups implements AccessGroupsSource: the graph is rebuilt after
// an edit, at most once per edit.
func (m *MemObjects) AccessGroups(_ context.Context) (*AccessGroups, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if c := m.graph.Load(); c != nil && c.edits == m.edits {
		return c.ag, nil
	}
	gs := make([]Group, 0, len(m.groups))
	for _, n := range slices.Sorted(maps.Keys(m.groups)) {
		gs = append(gs, cloneGroup(m.groups[n]))
	}
	ag := &AccessGroups{g: newGraph(gs)}
	m.graph.Store(&memGraph{edits: m.edits, ag: ag})
	return ag, nil
}

type memUser struct {
	User
	tokens map[string]Token
}

var (
	_ Objects            = (*MemObjects)(nil)
	_ AccessGroupsSource = (*MemObjects)(nil)
)

// NewMemObjects returns an empty MemObjects.
func NewMemObjects() *MemObjects {
	return &MemObjects{users: map[string]*memUser{}, groups: map[string]Group{},
		clients: map[string]Client{}, rand: rand.Reader}
}

// SetRevoker sets who ends sessions after edits that take something away
// (usually the Engine); nil turns it off.
func (m *MemObjects) SetRevoker(r Revoker) {
	m.lock()
	defer m.mu.Unlock()
	m.revoker = r
}

// User implements Objects.
func (m *MemObjects) User(_ context.Context, name string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[name]
	if !ok {
		return User{}, notFound("user", name)
	}
	return u.User, nil
}

// Users returns every user, sorted by name ("otpme-user show").
func (m *MemObjects) Users(_ context.Context) ([]User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]User, 0, len(m.users))
	for _, n := range slices.Sorted(maps.Keys(m.users)) {
		out = append(out, m.users[n].User)
	}
	return out, nil
}

// Tokens implements Objects.
func (m *MemObjects) Tokens(_ context.Context, user string) ([]Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[user]
	if !ok {
		return nil, notFound("user", user)
	}
	var out []Token
	for _, n := range slices.Sorted(maps.Keys(u.tokens)) {
		out = append(out, cloneToken(u.tokens[n]))
	}
	return out, nil
}

// Token returns the token name of user.
func (m *MemObjects) Token(_ context.Context, user, name string) (Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[user]
	if !ok {
		return Token{}, notFound("user", user)
	}
	t, ok := u.tokens[name]
	if !ok {
		return Token{}, notFound("token", user+"/"+name)
	}
	return cloneToken(t), nil
}

// Groups implements Objects (sorted by name).
func (m *MemObjects) Groups(_ context.Context) ([]Group, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Group, 0, len(m.groups))
	for _, n := range slices.Sorted(maps.Keys(m.groups)) {
		out = append(out, cloneGroup(m.groups[n]))
	}
	return out, nil
}

// Client implements Objects.
func (m *MemObjects) Client(_ context.Context, name string) (Client, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.clients[name]
	if !ok {
		return Client{}, notFound("client", name)
	}
	return cloneClient(c), nil
}

// Clients returns every client, sorted by name ("otpme-client show").
func (m *MemObjects) Clients(_ context.Context) ([]Client, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Client, 0, len(m.clients))
	for _, n := range slices.Sorted(maps.Keys(m.clients)) {
		out = append(out, cloneClient(m.clients[n]))
	}
	return out, nil
}

func cloneToken(t Token) Token {
	t.Groups = slices.Clone(t.Groups)
	t.Secret, t.PIN = slices.Clone(t.Secret), slices.Clone(t.PIN)
	return t
}

func cloneGroup(g Group) Group {
	g.Children, g.ChildSessions = slices.Clone(g.Children), slices.Clone(g.ChildSessions)
	return g
}

func cloneClient(c Client) Client {
	c.Addresses, c.Secret = slices.Clone(c.Addresses), slices.Clone(c.Secret)
	return c
}

func notFound(kind, name string) error { return fmt.Errorf("%s %q: %w", kind, name, ErrNotFound) }

// checkName refuses names that cannot be shown in a trace or event line or
// that contain the separators of scope and session names ('/', ':').
func checkName(kind, name string) error {
	bad := strings.IndexFunc(name, func(r rune) bool {
		return r == '/' || r == ':' || r == '=' || r == '"' || r == '\'' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	})
	if name == "" || len(name) > 128 || bad >= 0 {
		return fmt.Errorf("%s name %q: 1 to 128 printable characters without space, quote, '=', '/' or ':': %w", kind, name, ErrInvalid)
	}
	return nil
}

// newID returns a random ID (32 hex characters).
func (m *MemObjects) newID() (string, error) {
	id, err := randomHex(m.rand, 16)
	if err != nil {
		return "", fmt.Errorf("new object id: %w", err)
	}
	return id, nil
}

// revalidate asks the Revoker to revalidate the sessions of users (every
// user if none are named).
func (m *MemObjects) revalidate(ctx context.Context, users ...string) error {
	m.mu.RLock()
	r := m.revoker
	if len(users) == 0 {
		users = slices.Sorted(maps.Keys(m.users))
	}
	m.mu.RUnlock()
	if r == nil {
		return nil
	}
	for _, u := range users {
		if _, err := r.Revalidate(ctx, u); err != nil {
			return fmt.Errorf("revalidate sessions of %q: %w", u, err)
		}
	}
	return nil
}

// revoke asks the Revoker to delete the sessions matching f.
func (m *MemObjects) revoke(ctx context.Context, f SessionFilter) error {
	m.mu.RLock()
	r := m.revoker
	m.mu.RUnlock()
	if r == nil {
		return nil
	}
	if _, err := r.DeleteSessions(ctx, f); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}
