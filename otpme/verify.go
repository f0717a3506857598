package otpme

import (
	"context"
	"fmt"
	"time"
)

// verification is one run of Engine.Verify: what it has learnt so far and
// how it ended.
type verification struct {
	e   *Engine
	req Request
	now time.Time
	tr  tracer

	// The outcome.
	code    EventCode
	kind    Kind
	tokType TokenType
	token   string // the event's token
	session string // the event's session

	// What the steps found.
	client     *Client
	graph      graph
	groupName  string // the event's access group
	group      *Group // nil: no access group
	user       User
	scope      Scope
	scopeFails int // failures of scope when the request began
	maxFail    int // max_fail of scope
	tokens     []Token
	tokensRead bool
	sessions   []Session // the user's sessions, when read with the fail counts
	sessRead   bool
	locked     chan struct{} // the user's lock stripe, held until the end
}

// step is one stage of a verification. It returns done when the decision
// is made (the outcome fields are set), and an error only if Objects or
// the Store failed.
type step func(ctx context.Context) (done bool, err error)

// run is the verification, stage by stage, in the guide's order.
func (v *verification) run(ctx context.Context) error {
	v.tr.debug("Processing %s authentication request.", v.req.AuthType)
	defer v.unlockUser()
	for _, s := range []step{
		v.resolveClient, // who is calling, is it allowed
		v.resolveGroup,  // the client's access group (or none)
		v.resolveUser,   // the user exists and is enabled
		v.lockUser,      // no other verification of the user meanwhile
		v.checkLock,     // the user is not locked (account or group)
		v.checkSessions, // an existing session: re-use, max_login, logout
		v.verifyTokens,  // the tokens the group allows, static then OTP
	} {
		if done, err := s(ctx); done || err != nil {
			return err
		}
	}
	return nil
}

// result builds the Result and appends the event line to the trace.
func (v *verification) result(err error) Result {
	if err != nil {
		v.tr.add("ERROR", "Verification failed, login refused: %v", err)
		v.code, v.kind, v.tokType, v.token, v.session = AuthFailed, KindNone, "", "", ""
	}
	ev := Event{Code: v.code, User: v.req.User, Token: v.token, AccessGroup: v.groupName,
		Client: v.req.Client, ClientIP: v.req.ClientIP, AuthType: v.req.AuthType, Session: v.session}
	if v.code.OK() {
		v.tr.info("%s", ev)
		return Result{OK: true, Event: ev, Kind: v.kind, TokenType: v.tokType, Trace: v.tr.lines}
	}
	v.tr.warn("%s", ev)
	return Result{Event: ev, Trace: v.tr.lines}
}

// refuse ends the verification with code, counting a failed login first if
// count is set.
func (v *verification) refuse(ctx context.Context, code EventCode, count bool) (bool, error) {
	v.code = code
	if count {
		return true, v.countFail(ctx)
	}
	return true, nil
}

// accept ends the verification with the success code, and resets the
// failures of the request's scope.
func (v *verification) accept(ctx context.Context, code EventCode, kind Kind, tok Token) (bool, error) {
	v.code, v.kind, v.tokType, v.token = code, kind, tok.Type, tok.Name
	return true, v.resetFails(ctx)
}

// scopeName names the scope as the guide does: "user" or "user/group".
func (v *verification) scopeName() string {
	if v.group == nil {
		return v.user.Name
	}
	return v.user.Name + "/" + v.group.Name
}

// countFail records the request's password as a failure of its scope
// (once per distinct password) and locks the scope at max_fail: its
// sessions end at once.
func (v *verification) countFail(ctx context.Context) error {
	v.tr.debug("Counting failed login for this request.")
	h := hexHash(v.e.c.Key, purposeFail, []byte(v.scope.User), []byte(v.scope.Group), v.req.Password)
	n, err := v.e.c.Store.AddFail(ctx, v.scope, h)
	if err != nil {
		return fmt.Errorf("count failed login of %q: %w", v.scopeName(), err)
	}
	if v.maxFail <= 0 || n < v.maxFail {
		return nil
	}
	v.tr.warn("Login fail count for '%s' is %d (max_fail %d): locked, removing its sessions.", v.scopeName(), n, v.maxFail)
	if _, err := v.e.c.Store.DeleteSessions(ctx, SessionFilter{User: v.scope.User, Group: v.scope.Group}); err != nil {
		return fmt.Errorf("remove sessions of locked %q: %w", v.scopeName(), err)
	}
	return nil
}

// resetFails forgets the failures of the request's scope after a success.
func (v *verification) resetFails(ctx context.Context) error {
	if v.scopeFails == 0 {
		return nil
	}
	n, err := v.e.c.Store.ResetFails(ctx, v.scope)
	if err != nil {
		return fmt.Errorf("reset login fail count of %q: %w", v.scopeName(), err)
	}
	v.tr.info("Resetting login fail count for '%s' from '%d' to '0'.", v.scopeName(), n)
	return nil
}
