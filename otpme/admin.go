package otpme

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Status is a user's failed-login state in one scope.
type Status struct {
	// Fails is the number of distinct wrong passwords counted.
	Fails int
	// Locked: Fails reached max_fail (of the user without group, of the
	// group with one).
	Locked bool
}

// Status returns the failed-login state of the user for the access group
// group ("" for the user without group: the whole account).
func (e *Engine) Status(ctx context.Context, user, group string) (Status, error) {
	u, err := e.c.Objects.User(ctx, user)
	if err != nil {
		return Status{}, fmt.Errorf("status of %q: %w", user, err)
	}
	scope, maxFail := Scope{User: u.ID}, u.MaxFail
	if group != "" {
		g, err := e.group(ctx, group)
		if err != nil {
			return Status{}, fmt.Errorf("status of %q: %w", user, err)
		}
		scope.Group, maxFail = g.ID, g.MaxFail
	}
	n, err := e.c.Store.Fails(ctx, scope)
	if err != nil {
		return Status{}, fmt.Errorf("status of %q: %w", user, err)
	}
	return Status{Fails: n, Locked: maxFail > 0 && n >= maxFail}, nil
}

func (e *Engine) group(ctx context.Context, name string) (Group, error) {
	gs, err := e.c.Objects.Groups(ctx)
	if err != nil {
		return Group{}, fmt.Errorf("read access groups: %w", err)
	}
	g, ok := newGraph(gs).byName[name]
	if !ok {
		return Group{}, fmt.Errorf("access group %q: %w", name, ErrNotFound)
	}
	return g, nil
}

// Unlock resets every failed-login count of the user (the account and
// each access group): the guide's "otpme-user unlock".
func (e *Engine) Unlock(ctx context.Context, user string) error {
	u, err := e.c.Objects.User(ctx, user)
	if err != nil {
		return fmt.Errorf("unlock %q: %w", user, err)
	}
	if err := e.c.Store.ResetUserFails(ctx, u.ID); err != nil {
		return fmt.Errorf("unlock %q: %w", user, err)
	}
	return nil
}

// SessionInfo is a session as "otpme-session show" lists it, with names.
type SessionInfo struct {
	// ID is the session's ID.
	ID string
	// User, Token and AccessGroup are names ("" without group).
	User, Token, AccessGroup string
	// AuthType is the authentication type of the session.
	AuthType string
	// Client and ClientIP opened the session.
	Client, ClientIP string
	// LastLogin is the latest login; Expires the hard end (zero: none);
	// UnusedExpires when the session ends if unused (zero: never).
	LastLogin, Expires, UnusedExpires time.Time
	// Logins counts the logins so far; MaxLogin caps them (0: no cap).
	Logins, MaxLogin int
}

// Sessions lists the user's live sessions, least recently used first
// ("otpme-session show").
func (e *Engine) Sessions(ctx context.Context, user string) ([]SessionInfo, error) {
	u, err := e.c.Objects.User(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("sessions of %q: %w", user, err)
	}
	ss, toks, g, err := e.userState(ctx, u)
	if err != nil {
		return nil, err
	}
	now := e.c.Now()
	var out []SessionInfo
	for _, s := range ss {
		if expired, _ := s.Expired(now); !expired {
			out = append(out, sessionInfo(u.Name, toks, g, s))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastLogin.Equal(out[j].LastLogin) {
			return out[i].LastLogin.Before(out[j].LastLogin)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func sessionInfo(user string, toks map[string]Token, g graph, s Session) SessionInfo {
	si := SessionInfo{ID: s.ID, User: user, Token: toks[s.Token].Name, AuthType: s.AuthType,
		AccessGroup: g.byID[s.Group], Client: s.Client, ClientIP: s.ClientIP,
		LastLogin: s.LastUsed, Expires: s.Expires, Logins: s.Logins, MaxLogin: s.MaxLogin}
	if s.UnusedTimeout > 0 {
		si.UnusedExpires = s.LastUsed.Add(s.UnusedTimeout)
	}
	return si
}

// userState reads what session checks need: the user's sessions, tokens
// by ID and the groups.
func (e *Engine) userState(ctx context.Context, u User) ([]Session, map[string]Token, graph, error) {
	ss, err := e.c.Store.Sessions(ctx, u.ID)
	if err != nil {
		return nil, nil, graph{}, fmt.Errorf("read sessions of %q: %w", u.Name, err)
	}
	ts, err := e.c.Objects.Tokens(ctx, u.Name)
	if err != nil {
		return nil, nil, graph{}, fmt.Errorf("read tokens of %q: %w", u.Name, err)
	}
	gs, err := e.c.Objects.Groups(ctx)
	if err != nil {
		return nil, nil, graph{}, fmt.Errorf("read access groups: %w", err)
	}
	toks := make(map[string]Token, len(ts))
	for _, t := range ts {
		toks[t.ID] = t
	}
	return ss, toks, newGraph(gs), nil
}

// DeleteSessions deletes the sessions matching f (IDs) and returns how
// many.
func (e *Engine) DeleteSessions(ctx context.Context, f SessionFilter) (int, error) {
	n, err := e.c.Store.DeleteSessions(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return n, nil
}

// Revalidate deletes the user's sessions that can no longer be used: the
// user is disabled, the session's token is gone or disabled, or its access
// group is gone or no longer held by the token (itself or a parent). Call
// it after an edit that takes something away; Verify checks the same at
// every use. A user that does not exist has nothing to revalidate (its
// sessions are deleted by ID when it is deleted).
func (e *Engine) Revalidate(ctx context.Context, user string) (int, error) {
	u, err := e.c.Objects.User(ctx, user)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("revalidate sessions of %q: %w", user, err)
	}
	ss, toks, g, err := e.userState(ctx, u)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range ss {
		if u.Enabled && sessionUsable(toks, g, s) {
			continue
		}
		d, err := e.c.Store.DeleteSessions(ctx, SessionFilter{ID: s.ID})
		if err != nil {
			return n, fmt.Errorf("revalidate sessions of %q: %w", user, err)
		}
		n += d
	}
	return n, nil
}

// sessionUsable reports whether s's token exists and is enabled, and the
// session's group exists, is enabled and is held by the token (itself or
// through a parent).
func sessionUsable(toks map[string]Token, g graph, s Session) bool {
	tok, ok := toks[s.Token]
	if !ok || !tok.Enabled {
		return false
	}
	if s.Group == "" {
		return true
	}
	name, ok := g.byID[s.Group]
	if !ok || !g.enabled(name) {
		return false
	}
	_, ok = g.grant(tok, name)
	return ok
}

// Purge deletes expired sessions and used codes.
func (e *Engine) Purge(ctx context.Context) (int, error) {
	n, err := e.c.Store.Purge(ctx, e.c.Now())
	if err != nil {
		return 0, fmt.Errorf("purge store: %w", err)
	}
	return n, nil
}

// GenLogout returns the session logout password for a session opened with
// password (the guide's "otpme-tool gen_logout"). See LogoutPassword.
func (e *Engine) GenLogout(password Secret) Secret { return LogoutPassword(password) }

// GenClientTP returns the client trust password of the client for a
// one-time code (the guide's "otpme-tool gen_client_tp"). See
// TrustPassword.
func (e *Engine) GenClientTP(ctx context.Context, client string, code Secret) (Secret, error) {
	c, err := e.c.Objects.Client(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("client trust password of %q: %w", client, err)
	}
	if len(c.Secret) == 0 {
		return nil, fmt.Errorf("client trust password of %q: %w", client, ErrNoSecret)
	}
	return TrustPassword(c.Secret, code), nil
}

// ErrNoSecret: the client has no secret for trust passwords.
var ErrNoSecret = errors.New("otpme: client has no secret")
