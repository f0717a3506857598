package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// Run runs the conformance suite. newStore must return a new, empty store
// each time it is called; it may register cleanups on t.
func Run(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	t.Run("fails", func(t *testing.T) { runFails(t, newStore) })
	t.Run("used-codes", func(t *testing.T) { runUsedCodes(t, newStore) })
	t.Run("sessions", func(t *testing.T) { runSessions(t, newStore) })
	t.Run("count-login", func(t *testing.T) { runCountLogin(t, newStore) })
	if _, ok := newStore(t).(otpme.LoginStateReader); ok {
		t.Run("login-state", func(t *testing.T) { runLoginState(t, newStore) })
	}
	t.Run("purge", func(t *testing.T) { runPurge(t, newStore) })
	t.Run("concurrent", func(t *testing.T) { runConcurrent(t, newStore) })
	t.Run("shared-engines", func(t *testing.T) { runSharedEngines(t, newStore) })
}

var (
	t0        = time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)
	userA     = otpme.Scope{User: "user-a"}
	userAImap = otpme.Scope{User: "user-a", Group: "imap"}
	userB     = otpme.Scope{User: "user-b"}
)

// failOp is one call in a fail-counter scenario.
type failOp struct {
	op    string // "add", "fails", "reset", "reset-user"
	scope otpme.Scope
	hash  string
	want  int // count returned by add, fails or reset
}

func runFails(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	tests := []struct {
		name string
		ops  []failOp
	}{
		{"unknown-scope-is-zero", []failOp{{"fails", userA, "", 0}, {"reset", userA, "", 0}}},
		{"distinct-hashes-count", []failOp{{"add", userA, "h1", 1}, {"add", userA, "h2", 2}, {"fails", userA, "", 2}}},
		{"same-hash-counts-once", []failOp{{"add", userA, "h1", 1}, {"add", userA, "h1", 1}, {"add", userA, "h2", 2}, {"add", userA, "h1", 2}}},
		{"scopes-are-independent", []failOp{{"add", userA, "h1", 1}, {"add", userAImap, "h1", 1}, {"add", userB, "h1", 1}, {"add", userAImap, "h2", 2}, {"fails", userA, "", 1}}},
		{"reset-returns-previous", []failOp{{"add", userA, "h1", 1}, {"add", userA, "h2", 2}, {"reset", userA, "", 2}, {"fails", userA, "", 0}, {"add", userA, "h1", 1}}},
		{"reset-leaves-other-scopes", []failOp{{"add", userA, "h1", 1}, {"add", userAImap, "h1", 1}, {"reset", userAImap, "", 1}, {"fails", userA, "", 1}}},
		{"reset-user-clears-every-scope", []failOp{{"add", userA, "h1", 1}, {"add", userAImap, "h1", 1}, {"add", userB, "h1", 1}, {"reset-user", userA, "", 0}, {"fails", userA, "", 0}, {"fails", userAImap, "", 0}, {"fails", userB, "", 1}}},
		{"past-cap-oldest-dropped-still-counted", append(fillPastCap(userA),
			failOp{"add", userA, hashN(otpme.MaxFailHashes), otpme.MaxFailHashes + 1}, // the newest is held
			failOp{"add", userA, "h1", otpme.MaxFailHashes + 1},                       // so is the oldest held
			failOp{"add", userA, "h0", otpme.MaxFailHashes + 2},                       // dropped: counts again, drops h1
			failOp{"add", userA, "h1", otpme.MaxFailHashes + 3},
			failOp{"fails", userA, "", otpme.MaxFailHashes + 3},
			failOp{"reset", userA, "", otpme.MaxFailHashes + 3},
			failOp{"fails", userA, "", 0}, failOp{"add", userA, "h0", 1})},
		{"past-cap-reset-user", append(fillPastCap(userAImap),
			failOp{"reset-user", userA, "", 0}, failOp{"fails", userAImap, "", 0}, failOp{"add", userAImap, "h0", 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ctx := newStore(t), context.Background()
			for i, o := range tt.ops {
				got, err := failCall(ctx, s, o)
				require.NoError(t, err, "op %d %s", i, o.op)
				assert.Equal(t, o.want, got, "op %d %s %+v %s", i, o.op, o.scope, o.hash)
			}
		})
	}
}

// fillPastCap adds one distinct hash more than a scope holds: h0 is
// dropped.
func fillPastCap(scope otpme.Scope) []failOp {
	ops := make([]failOp, otpme.MaxFailHashes+1)
	for i := range ops {
		ops[i] = failOp{"add", scope, hashN(i), i + 1}
	}
	return ops
}

func hashN(i int) string { return fmt.Sprintf("h%d", i) }

func failCall(ctx context.Context, s otpme.Store, o failOp) (int, error) {
	switch o.op {
	case "add":
		return s.AddFail(ctx, o.scope, o.hash)
	case "fails":
		n, err := s.Fails(ctx, o.scope)
		if r, ok := s.(otpme.LoginStateReader); ok && err == nil {
			all := []otpme.Scope{o.scope, userA, userAImap, userB}
			counts, _, err := r.LoginState(ctx, o.scope.User, all)
			if err != nil {
				return 0, err
			}
			for i, sc := range all {
				if want, _ := s.Fails(ctx, sc); i >= len(counts) || counts[i] != want {
					return 0, fmt.Errorf("LoginState %+v: %v, Fails says %d", sc, counts, want)
				}
			}
		}
		return n, err
	case "reset":
		return s.ResetFails(ctx, o.scope)
	case "reset-user":
		return 0, s.ResetUserFails(ctx, o.scope.User)
	}
	panic("unknown op " + o.op)
}

func runUsedCodes(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	type use struct {
		token, code  string
		now, expires time.Duration // after t0
		first        bool
	}
	tests := []struct {
		name string
		uses []use
	}{
		{"first-use-then-used", []use{{"t1", "c1", 0, time.Minute, true}, {"t1", "c1", 10 * time.Second, time.Minute, false}}},
		{"other-code-is-first", []use{{"t1", "c1", 0, time.Minute, true}, {"t1", "c2", 0, time.Minute, true}}},
		{"other-token-is-first", []use{{"t1", "c1", 0, time.Minute, true}, {"t2", "c1", 0, time.Minute, true}}},
		{"used-until-expiry", []use{{"t1", "c1", 0, time.Minute, true}, {"t1", "c1", time.Minute - time.Second, 2 * time.Minute, false}}},
		{"expired-is-first-again", []use{{"t1", "c1", 0, time.Minute, true}, {"t1", "c1", time.Minute, 2 * time.Minute, true}, {"t1", "c1", time.Minute, 2 * time.Minute, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ctx := newStore(t), context.Background()
			for i, u := range tt.uses {
				first, err := s.UseCode(ctx, u.token, u.code, t0.Add(u.now), t0.Add(u.expires))
				require.NoError(t, err)
				assert.Equal(t, u.first, first, "use %d", i)
			}
		})
	}
}

// session returns a session of user/group/token opened at t0.
func session(id, login, user, group, token string) otpme.Session {
	return otpme.Session{ID: id, Login: login, User: user, Group: group, Token: token,
		AuthType: otpme.AuthClearText, Client: "roundcube", ClientIP: "192.0.2.1",
		Salt: []byte("salt-" + id), PasswordHash: []byte("pw-" + id), LogoutHash: []byte("slp-" + id),
		Created: t0, LastUsed: t0, Expires: t0.Add(30 * time.Minute), UnusedTimeout: 5 * time.Minute}
}
