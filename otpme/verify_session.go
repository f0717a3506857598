package otpme

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"sort"
)

// checkSessions looks for a session of the user in the request's group
// (whether or not the group creates sessions: child sessions are found
// too) whose password or logout password the request carries.
func (v *verification) checkSessions(ctx context.Context) (bool, error) {
	v.tr.debug("Doing %s session verification.", v.req.AuthType)
	ss, err := v.liveSessions(ctx)
	if err != nil {
		return true, err
	}
	for _, s := range ss {
		v.tr.debug("Verifying session '%s'.", v.sessionName(s))
		logout := hmac.Equal(keyedHash(v.e.c.Key, purposeSessionLogout, s.Salt, v.req.Password), s.LogoutHash)
		login := hmac.Equal(keyedHash(v.e.c.Key, purposeSessionPassword, s.Salt, v.req.Password), s.PasswordHash)
		switch {
		case logout:
			return v.logout(ctx, s)
		case login:
			if done, err := v.useSession(ctx, s); done || err != nil {
				return done, err
			}
		}
	}
	v.tr.debug("No session found for this request.")
	return false, nil
}

// liveSessions returns the user's sessions for the request's group and
// authentication type, oldest first, and removes the expired ones.
func (v *verification) liveSessions(ctx context.Context) ([]Session, error) {
	all, err := v.sessions, error(nil)
	if !v.sessRead {
		all, err = v.e.c.Store.Sessions(ctx, v.user.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("read sessions of %q: %w", v.user.Name, err)
	}
	var live []Session
	for _, s := range all {
		if s.Group != v.scope.Group || s.AuthType != v.req.AuthType {
			continue
		}
		if expired, why := s.Expired(v.now); expired {
			v.tr.debug("Session '%s' is expired by %s. Removing...", v.sessionName(s), why)
			if _, err := v.e.c.Store.DeleteSessions(ctx, SessionFilter{ID: s.ID}); err != nil {
				return nil, fmt.Errorf("remove expired session %s: %w", s.ID, err)
			}
			continue
		}
		live = append(live, s)
	}
	sort.Slice(live, func(i, j int) bool {
		if !live[i].Created.Equal(live[j].Created) {
			return live[i].Created.Before(live[j].Created)
		}
		return live[i].ID < live[j].ID
	})
	return live, nil
}

// useSession accepts the request through session s if the session's token
// still exists and is enabled, still holds the request's group (or a
// parent of it), and the session allows one more login. A session whose
// token is gone is removed and the request goes on (done false).
func (v *verification) useSession(ctx context.Context, s Session) (bool, error) {
	name := v.sessionName(s)
	v.tr.debug("Authentication parameters of request matching session '%s'.", name)
	tok, ok, err := v.sessionToken(ctx, s)
	if err != nil || !ok {
		return false, err
	}
	v.tr.debug("Token '%s' used at session login is a token of user '%s'.", tok.Name, v.user.Name)
	if v.group != nil && !v.groupValid(tok) {
		v.tr.warn("Session verification failed because access group '%s' and none of its parents are in token access groups (and enabled).", v.group.Name)
		return v.refuse(ctx, AuthSessionNoValidGroup, true)
	}
	v.tr.debug("Session token '%s' is owned by user '%s'. Session valid.", tok.Name, v.user.Name)
	_, err = v.e.c.Store.CountLogin(ctx, s, v.now)
	switch {
	case errors.Is(err, ErrMaxLogin):
		v.tr.warn("Session verification failed because max login count (%d) is reached.", s.MaxLogin)
		return v.refuse(ctx, AuthSessionMaxLogin, true)
	case errors.Is(err, ErrSessionNotFound):
		v.tr.debug("Session '%s' ended meanwhile.", name)
		return false, nil
	case err != nil:
		return true, fmt.Errorf("count login of session %s: %w", s.ID, err)
	}
	v.tr.debug("Updating last used timestamp of session '%s'.", name)
	v.session = s.ID
	return v.accept(ctx, AuthOKSession, KindSession, tok)
}

// sessionToken returns the token s was opened with. If it is gone or
// disabled, s is removed and ok is false.
func (v *verification) sessionToken(ctx context.Context, s Session) (Token, bool, error) {
	ts, err := v.userTokens(ctx)
	if err != nil {
		return Token{}, false, err
	}
	for _, t := range ts {
		if t.ID == s.Token && t.Enabled {
			return t, true, nil
		}
	}
	v.tr.warn("Token used at login of session '%s' is gone or disabled. Removing session.", v.sessionName(s))
	if _, err := v.e.c.Store.DeleteSessions(ctx, SessionFilter{ID: s.ID}); err != nil {
		return Token{}, false, fmt.Errorf("remove session %s: %w", s.ID, err)
	}
	return Token{}, false, nil
}

// groupValid reports whether tok still holds the request's group or an
// enabled parent of it.
func (v *verification) groupValid(tok Token) bool {
	g := v.group.Name
	v.tr.debug("Verifying if access group '%s' is in access_groups of token '%s'.", g, tok.Name)
	via, ok := v.graph.grant(tok, g)
	if ok && via == g {
		v.tr.debug("Access group '%s' is in token access groups and enabled, so its valid.", g)
		return true
	}
	v.tr.debug("Access group '%s' is NOT in token access groups. Verifying parent groups.", g)
	if ok {
		v.tr.debug("Parent group '%s' IS in token access groups and enabled, so its valid.", via)
		v.tr.info("Found a valid parent access group: '%s'", via)
	}
	return ok
}

// logout ends session s and every session opened with it, and refuses the
// request: a session logout password is never a login. The token and
// group checks are traced as in the guide; they do not stop the logout.
func (v *verification) logout(ctx context.Context, s Session) (bool, error) {
	name := v.sessionName(s)
	v.tr.debug("This is a logout request for session '%s'.", name)
	tok, ok, err := v.sessionToken(ctx, s)
	if err != nil {
		return true, err
	}
	if ok {
		v.tr.debug("Token '%s' used at session login is a token of user '%s'.", tok.Name, v.user.Name)
		if v.group != nil {
			v.groupValid(tok)
		}
	}
	v.tr.info("Logout request detected. Removing session '%s'", name)
	n, err := v.e.c.Store.DeleteSessions(ctx, SessionFilter{User: s.User, Login: s.Login})
	if err != nil {
		return true, fmt.Errorf("remove sessions of login %s: %w", s.Login, err)
	}
	v.tr.debug("Removed %d session(s) opened by the same login.", n)
	return v.refuse(ctx, AuthSessionLogout, false)
}

// sessionName names a session as the guide does:
// "user:group:auth-type:id", or "user:auth-type:id" without group.
func (v *verification) sessionName(s Session) string {
	return sessionName(v.user.Name, v.graph.byID[s.Group], s)
}

func sessionName(user, group string, s Session) string {
	if s.Group == "" {
		return user + ":" + s.AuthType + ":" + s.ID
	}
	return user + ":" + group + ":" + s.AuthType + ":" + s.ID
}
