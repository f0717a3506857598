package otpme

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
)

// openSessions opens the sessions of a one-time login: a user session
// (no access group, user's sessions on), or, for a group with sessions on,
// the session of the group — or of its session master — and its child
// sessions. They are stored together; the event names the session of the
// request's own group.
func (v *verification) openSessions(ctx context.Context, tok Token) error {
	plan := v.planSessions(tok)
	if len(plan) == 0 {
		return nil
	}
	ss := make([]Session, len(plan))
	for i, g := range plan {
		s, err := v.newSession(g, tok)
		if err != nil {
			return err
		}
		if i > 0 {
			s.Login = ss[0].ID
		}
		ss[i] = s
	}
	if err := v.e.c.Store.CreateSessions(ctx, ss); err != nil {
		return fmt.Errorf("create sessions of %q: %w", v.user.Name, err)
	}
	v.traceOpened(plan, ss)
	return nil
}

func (v *verification) traceOpened(plan []*Group, ss []Session) {
	for i, s := range ss {
		name := sessionName(v.user.Name, groupName(plan[i]), s)
		switch {
		case plan[i] == nil:
			v.tr.debug("Creating session '%s'.", name)
		case i == 0:
			v.tr.debug("adding parent session '%s'", name)
		default:
			v.tr.debug("adding child session '%s'.", name)
		}
		if s.Group == v.scope.Group {
			v.session = "new:" + s.ID
		}
	}
}

func groupName(g *Group) string {
	if g == nil {
		return ""
	}
	return g.Name
}

// planSessions returns the groups to open sessions for, the parent first;
// a nil entry is a user session.
func (v *verification) planSessions(tok Token) []*Group {
	if v.group == nil {
		if v.user.Sessions {
			return []*Group{nil}
		}
		return nil
	}
	if !v.group.Sessions {
		return nil
	}
	root := v.group
	if m := v.master(tok); m != nil {
		v.tr.debug("Found a valid session master: '%s'.", m.Name)
		root = m
	}
	plan := []*Group{root}
	for _, name := range root.ChildSessions {
		g, ok := v.graph.byName[name]
		if !ok || !g.Enabled || slices.ContainsFunc(plan, func(p *Group) bool { return p.Name == name }) {
			v.tr.debug("Not adding child session for access group '%s' (missing, disabled or listed twice).", name)
			continue
		}
		plan = append(plan, &g)
	}
	return plan
}

// master returns the session master of the request's group: the group
// itself if it is one, else an enabled group with sessions on that is a
// session master, lists the request's group among its child sessions and
// is allowed for tok (so a token cannot open a session for a group it may
// not use). nil if there is none; the first by name if several.
func (v *verification) master(tok Token) *Group {
	if v.group.SessionMaster {
		return v.group
	}
	for _, n := range v.graph.mastersOf[v.group.Name] {
		m := v.graph.byName[n]
		if !m.Enabled || !m.Sessions {
			continue
		}
		if _, ok := v.graph.grant(tok, m.Name); ok {
			return &m
		}
	}
	return nil
}

// newSession builds the session of group g (nil: a user session) for the
// request's password. Only the session of the request's own group counts
// the opening login.
func (v *verification) newSession(g *Group, tok Token) (Session, error) {
	id, err := randomHex(v.e.c.Rand, 16)
	if err != nil {
		return Session{}, fmt.Errorf("session id: %w", err)
	}
	salt := make([]byte, saltLength)
	if _, err := io.ReadFull(v.e.c.Rand, salt); err != nil {
		return Session{}, fmt.Errorf("session salt: %w", err)
	}
	slp := LogoutPassword(v.req.Password)
	defer slp.Zero()
	s := Session{
		ID: id, Login: id, User: v.user.ID, Token: tok.ID, AuthType: v.req.AuthType,
		Client: v.req.Client, ClientIP: v.req.ClientIP, Salt: salt,
		PasswordHash: keyedHash(v.e.c.Key, purposeSessionPassword, salt, v.req.Password),
		LogoutHash:   keyedHash(v.e.c.Key, purposeSessionLogout, salt, slp),
		Created:      v.now, LastUsed: v.now,
	}
	timeout, unused := v.e.c.SessionTimeout, v.e.c.UnusedSessionTimeout
	if g != nil {
		s.Group, s.MaxLogin = g.ID, g.MaxLogin
		timeout, unused = g.Timeout, g.UnusedTimeout
	}
	if timeout > 0 {
		s.Expires = v.now.Add(timeout)
	}
	s.UnusedTimeout = unused
	if s.Group == v.scope.Group {
		s.Logins = 1
	}
	return s, nil
}

// randomHex returns n random bytes from r in lowercase hex.
func randomHex(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
