package otpme

import (
	"context"
	"errors"
	"fmt"
)

// resolveClient finds the calling client: it must exist, be enabled and
// allow the caller's address.
func (v *verification) resolveClient(ctx context.Context) (bool, error) {
	name := v.req.Client
	if name == "" {
		return false, nil
	}
	c, err := v.e.c.Objects.Client(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		v.tr.warn("Client '%s' does not exist.", name)
		return v.refuse(ctx, AuthClientUnknown, false)
	case err != nil:
		return true, fmt.Errorf("read client %q: %w", name, err)
	case !c.Enabled:
		v.tr.warn("Client '%s' is disabled.", name)
		return v.refuse(ctx, AuthClientDisabled, false)
	case !c.allows(v.req.ClientIP):
		v.tr.warn("Client '%s' does not allow requests from '%s'.", name, v.req.ClientIP)
		return v.refuse(ctx, AuthClientAddress, false)
	}
	v.tr.debug("Client '%s' exists.", name)
	v.client = &c
	return false, nil
}

// resolveGroup takes the client's access group. Without one, the request
// goes on only if ALLOW_GROUP_MISSING is configured.
func (v *verification) resolveGroup(ctx context.Context) (bool, error) {
	gr, err := accessGroups(ctx, v.e.c.Objects)
	if err != nil {
		return true, fmt.Errorf("read access groups: %w", err)
	}
	v.graph = gr
	if v.client != nil {
		v.groupName = v.client.AccessGroup
	}
	if v.groupName == "" {
		if v.e.c.AllowGroupMissing {
			return false, nil
		}
		v.tr.warn("Request without access group and ALLOW_GROUP_MISSING is not configured.")
		return v.refuse(ctx, AuthGroupMissing, false)
	}
	v.tr.debug("Got access group '%s' from client config.", v.groupName)
	g, ok := v.graph.byName[v.groupName]
	switch {
	case !ok:
		v.tr.warn("Access group '%s' does not exist.", v.groupName)
		return v.refuse(ctx, AuthGroupUnknown, false)
	case !g.Enabled:
		v.tr.warn("Access group '%s' is disabled.", v.groupName)
		return v.refuse(ctx, AuthGroupDisabled, false)
	case !g.Sessions:
		v.tr.debug("Session creation for access group '%s' is disabled. Verification of parent sessions will still be done.", g.Name)
	}
	v.group = &g
	return false, nil
}

// resolveUser finds the user, who must be enabled; a disabled user's
// sessions end. It sets the scope failures are counted in.
func (v *verification) resolveUser(ctx context.Context) (bool, error) {
	u, err := v.e.c.Objects.User(ctx, v.req.User)
	switch {
	case errors.Is(err, ErrNotFound):
		v.tr.warn("User '%s' does not exist.", v.req.User)
		return v.refuse(ctx, AuthUserUnknown, false)
	case err != nil:
		return true, fmt.Errorf("read user %q: %w", v.req.User, err)
	case !u.Enabled:
		v.tr.warn("User '%s' is disabled. Removing its sessions.", u.Name)
		if _, err := v.e.c.Store.DeleteSessions(ctx, SessionFilter{User: u.ID}); err != nil {
			return true, fmt.Errorf("remove sessions of disabled user %q: %w", u.Name, err)
		}
		return v.refuse(ctx, AuthUserDisabled, false)
	}
	v.user = u
	v.scope, v.maxFail = Scope{User: u.ID}, u.MaxFail
	if v.group != nil {
		v.scope.Group, v.maxFail = v.group.ID, v.group.MaxFail
	}
	return false, nil
}

// lockUser waits until no other verification of the user runs in this
// Engine, so that each one reads the fail counts the previous ones left
// (userLocks). A ctx that ends meanwhile ends the verification with its
// error.
func (v *verification) lockUser(ctx context.Context) (bool, error) {
	s, err := v.e.locks.lock(ctx, v.user.ID)
	if err != nil {
		return true, fmt.Errorf("wait for the other logins of %q: %w", v.user.Name, err)
	}
	v.locked = s
	return false, nil
}

// unlockUser releases what lockUser took, if anything.
func (v *verification) unlockUser() {
	if v.locked != nil {
		<-v.locked
		v.locked = nil
	}
}

// checkLock refuses a locked user: locked for the whole account (failures
// without access group at the user's max_fail) or for the request's group
// (failures in it at the group's max_fail). The attempt counts as a
// failure too (once per distinct password), as in the guide.
func (v *verification) checkLock(ctx context.Context) (bool, error) {
	scopes := []Scope{{User: v.user.ID}}
	if v.group != nil {
		scopes = append(scopes, v.scope)
	}
	counts, err := v.fails(ctx, scopes)
	if err != nil {
		return true, fmt.Errorf("read login fail count of %q: %w", v.scopeName(), err)
	}
	userFails := counts[0]
	v.scopeFails = counts[len(counts)-1]
	switch {
	case v.user.MaxFail > 0 && userFails >= v.user.MaxFail:
		v.tr.warn("User '%s' is locked.", v.user.Name)
	case v.group != nil && v.group.MaxFail > 0 && v.scopeFails >= v.group.MaxFail:
		v.tr.warn("User '%s' is locked for access group '%s'.", v.user.Name, v.group.Name)
	default:
		return false, nil
	}
	return v.refuse(ctx, AuthUserLocked, true)
}

// userTokens returns the user's tokens, read once per verification.
func (v *verification) userTokens(ctx context.Context) ([]Token, error) {
	if v.tokensRead {
		return v.tokens, nil
	}
	ts, err := v.e.c.Objects.Tokens(ctx, v.user.Name)
	if err != nil {
		return nil, fmt.Errorf("read tokens of %q: %w", v.user.Name, err)
	}
	v.tokens, v.tokensRead = ts, true
	return ts, nil
}

// fails returns the fail counts of scopes, with the user's sessions in
// the same request if the Store can (they are kept for checkSessions).
func (v *verification) fails(ctx context.Context, scopes []Scope) ([]int, error) {
	if r, ok := v.e.c.Store.(LoginStateReader); ok {
		counts, sessions, err := r.LoginState(ctx, v.user.ID, scopes)
		if err == nil && len(counts) != len(scopes) {
			err = fmt.Errorf("%d fail counts for %d scopes", len(counts), len(scopes))
		}
		v.sessions, v.sessRead = sessions, err == nil
		return counts, err
	}
	counts := make([]int, len(scopes))
	for i, sc := range scopes {
		n, err := v.e.c.Store.Fails(ctx, sc)
		if err != nil {
			return nil, err
		}
		counts[i] = n
	}
	return counts, nil
}
