package storetest

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// fixture is three logins of two users: a (webmail + imap child), b
// (imap) of user u1, c (no group) of user u2.
func fixture() []otpme.Session {
	return []otpme.Session{
		session("a1", "a1", "u1", "webmail", "tok1"),
		session("a2", "a1", "u1", "imap", "tok1"),
		session("b1", "b1", "u1", "imap", "tok2"),
		session("c1", "c1", "u2", "", "tok3"),
	}
}

func ids(ss []otpme.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	sort.Strings(out)
	return out
}

func runSessions(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	t.Run("create-and-read-back", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		require.NoError(t, s.CreateSessions(ctx, fixture()))
		got, err := s.Sessions(ctx, "u1")
		require.NoError(t, err)
		require.Equal(t, []string{"a1", "a2", "b1"}, ids(got))
		for _, g := range got {
			want := fixture()[slices.IndexFunc(fixture(), func(f otpme.Session) bool { return f.ID == g.ID })]
			assert.True(t, want.Created.Equal(g.Created) && want.Expires.Equal(g.Expires) && want.LastUsed.Equal(g.LastUsed))
			g.Created, g.Expires, g.LastUsed = want.Created, want.Expires, want.LastUsed
			assert.Equal(t, want, g)
		}
		all, err := s.Sessions(ctx, "")
		require.NoError(t, err)
		assert.Equal(t, []string{"a1", "a2", "b1", "c1"}, ids(all))
	})
	t.Run("duplicate-id-creates-nothing", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		require.NoError(t, s.CreateSessions(ctx, fixture()[:1]))
		err := s.CreateSessions(ctx, []otpme.Session{session("x1", "x1", "u1", "", "t"), fixture()[0]})
		require.ErrorIs(t, err, otpme.ErrSessionExists)
		all, _ := s.Sessions(ctx, "")
		assert.Equal(t, []string{"a1"}, ids(all))
	})
	t.Run("returned-sessions-are-copies", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		require.NoError(t, s.CreateSessions(ctx, fixture()[:1]))
		got, _ := s.Sessions(ctx, "u1")
		got[0].PasswordHash[0] ^= 0xff
		again, _ := s.Sessions(ctx, "u1")
		assert.Equal(t, fixture()[0].PasswordHash, again[0].PasswordHash)
	})
	runDeleteSessions(t, newStore)
}

func runDeleteSessions(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	tests := []struct {
		name   string
		filter otpme.SessionFilter
		n      int
		left   []string
	}{
		{"by-id", otpme.SessionFilter{ID: "a2"}, 1, []string{"a1", "b1", "c1"}},
		{"by-login", otpme.SessionFilter{User: "u1", Login: "a1"}, 2, []string{"b1", "c1"}},
		{"by-user", otpme.SessionFilter{User: "u1"}, 3, []string{"c1"}},
		{"by-user-and-group", otpme.SessionFilter{User: "u1", Group: "imap"}, 2, []string{"a1", "c1"}},
		{"by-token", otpme.SessionFilter{Token: "tok1"}, 2, []string{"b1", "c1"}},
		{"by-group", otpme.SessionFilter{Group: "webmail"}, 1, []string{"a2", "b1", "c1"}},
		{"no-match", otpme.SessionFilter{ID: "zz"}, 0, []string{"a1", "a2", "b1", "c1"}},
		{"by-id-of-another-user", otpme.SessionFilter{ID: "a1", User: "u2"}, 0, []string{"a1", "a2", "b1", "c1"}},
		{"by-id-and-user", otpme.SessionFilter{ID: "c1", User: "u2"}, 1, []string{"a1", "a2", "b1"}},
		{"zero-filter-matches-all", otpme.SessionFilter{}, 4, []string{}},
	}
	for _, tt := range tests {
		t.Run("delete-"+tt.name, func(t *testing.T) {
			s, ctx := newStore(t), context.Background()
			require.NoError(t, s.CreateSessions(ctx, fixture()))
			n, err := s.DeleteSessions(ctx, tt.filter)
			require.NoError(t, err)
			assert.Equal(t, tt.n, n)
			all, _ := s.Sessions(ctx, "")
			assert.Equal(t, tt.left, ids(all))
			// Each user's sessions are what is left of theirs, and a
			// deleted session's ID can be used again.
			for _, u := range []string{"u1", "u2"} {
				mine, err := s.Sessions(ctx, u)
				require.NoError(t, err)
				var want []otpme.Session
				for _, a := range all {
					if a.User == u {
						want = append(want, a)
					}
				}
				assert.Equal(t, ids(want), ids(mine), "sessions of %s", u)
			}
			if !slices.Contains(tt.left, "c1") {
				require.NoError(t, s.CreateSessions(ctx, []otpme.Session{session("c1", "c1", "u3", "", "tok3")}))
				u2, _ := s.Sessions(ctx, "u2")
				u3, _ := s.Sessions(ctx, "u3")
				assert.Equal(t, []string{}, ids(u2))
				assert.Equal(t, []string{"c1"}, ids(u3))
			}
		})
	}
}

func runCountLogin(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	capped := func(max, logins int) otpme.Session {
		s := session("s1", "s1", "u1", "webmail", "tok1")
		s.MaxLogin, s.Logins = max, logins
		return s
	}
	tests := []struct {
		name    string
		s       otpme.Session
		at      time.Duration
		wantErr error
		logins  int
	}{
		{"counts-and-touches", capped(0, 1), time.Minute, nil, 2},
		{"below-max-login", capped(2, 1), time.Minute, nil, 2},
		{"at-max-login", capped(1, 1), time.Minute, otpme.ErrMaxLogin, 1},
		{"unused-timeout", capped(0, 1), 5 * time.Minute, otpme.ErrSessionNotFound, 1},
		{"hard-timeout", capped(0, 1), 30 * time.Minute, otpme.ErrSessionNotFound, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ctx := newStore(t), context.Background()
			require.NoError(t, s.CreateSessions(ctx, []otpme.Session{tt.s}))
			got, err := s.CountLogin(ctx, read(t, s, "s1"), t0.Add(tt.at))
			stored, _ := s.Sessions(ctx, "u1")
			require.Len(t, stored, 1)
			if r, ok := s.(otpme.LoginStateReader); ok {
				_, same, err := r.LoginState(ctx, "u1", nil)
				require.NoError(t, err)
				require.Equal(t, stored, same, "LoginState's sessions are Sessions'")
			}
			assert.Equal(t, tt.logins, stored[0].Logins)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.True(t, stored[0].LastUsed.Equal(t0), "a refused login does not touch the session")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.logins, got.Logins)
			assert.True(t, got.LastUsed.Equal(t0.Add(tt.at)) && stored[0].LastUsed.Equal(t0.Add(tt.at)))
		})
	}
	t.Run("session-deleted-after-reading", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		require.NoError(t, s.CreateSessions(ctx, []otpme.Session{capped(3, 1)}))
		seen := read(t, s, "s1")
		_, err := s.DeleteSessions(ctx, otpme.SessionFilter{ID: "s1"})
		require.NoError(t, err)
		_, err = s.CountLogin(ctx, seen, t0)
		require.ErrorIs(t, err, otpme.ErrSessionNotFound)
	})
	t.Run("touch-extends-unused-timeout", func(t *testing.T) {
		s, ctx := newStore(t), context.Background()
		require.NoError(t, s.CreateSessions(ctx, []otpme.Session{capped(0, 1)}))
		for _, at := range []time.Duration{4 * time.Minute, 8 * time.Minute, 12 * time.Minute} {
			_, err := s.CountLogin(ctx, read(t, s, "s1"), t0.Add(at))
			require.NoError(t, err, "login at %v", at)
		}
	})
}

func runPurge(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	s, ctx := newStore(t), context.Background()
	fresh := session("fresh", "fresh", "u1", "", "t")
	fresh.LastUsed = t0.Add(4 * time.Minute)
	require.NoError(t, s.CreateSessions(ctx, []otpme.Session{session("old", "old", "u1", "", "t"), fresh}))
	_, err := s.UseCode(ctx, "t", "gone", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	_, err = s.UseCode(ctx, "t", "kept", t0, t0.Add(time.Hour))
	require.NoError(t, err)

	n, err := s.Purge(ctx, t0.Add(6*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the unused session and the expired code")
	left, _ := s.Sessions(ctx, "")
	assert.Equal(t, []string{"fresh"}, ids(left))
	first, err := s.UseCode(ctx, "t", "kept", t0.Add(6*time.Minute), t0.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, first, "a code not yet expired survives Purge")
}

// Stored returns session id of user as s returns it from Sessions, the
// way a caller of CountLogin reads it first.
func Stored(t *testing.T, s otpme.Store, user, id string) otpme.Session {
	t.Helper()
	all, err := s.Sessions(context.Background(), user)
	require.NoError(t, err)
	for _, sess := range all {
		if sess.ID == id {
			return sess
		}
	}
	t.Fatalf("no session %s of user %s stored", id, user)
	return otpme.Session{}
}

// read is Stored for user u1.
func read(t *testing.T, s otpme.Store, id string) otpme.Session { return Stored(t, s, "u1", id) }

// runLoginState: a store that reads a login's state in one request
// (otpme.LoginStateReader) answers exactly what Fails and Sessions answer,
// whatever else the user and others have stored: fail counters of scopes
// not asked for, other users' sessions and counters, used codes.
func runLoginState(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	s, ctx := newStore(t), context.Background()
	r := s.(otpme.LoginStateReader)
	for _, f := range []struct {
		scope otpme.Scope
		hash  string
	}{{userA, "h1"}, {userA, "h2"}, {userAImap, "h3"}, {userB, "h4"}} {
		_, err := s.AddFail(ctx, f.scope, f.hash)
		require.NoError(t, err)
	}
	require.NoError(t, s.CreateSessions(ctx, []otpme.Session{
		session("s1", "s1", "user-a", "webmail", "tok1"),
		session("s2", "s2", "user-a", "imap", "tok1"),
		session("s3", "s3", "user-b", "webmail", "tok2"),
	}))
	_, err := s.UseCode(ctx, "tok1", "123456", t0, t0.Add(time.Minute))
	require.NoError(t, err)

	for _, tt := range []struct {
		user   string
		scopes []otpme.Scope
	}{
		{"user-a", []otpme.Scope{userA}},
		{"user-a", []otpme.Scope{userA, userAImap}},
		{"user-a", nil},
		{"user-b", []otpme.Scope{userB, {User: "user-b", Group: "imap"}}},
		{"user-c", []otpme.Scope{{User: "user-c"}}},
	} {
		counts, sessions, err := r.LoginState(ctx, tt.user, tt.scopes)
		require.NoError(t, err)
		want := make([]int, len(tt.scopes))
		for i, sc := range tt.scopes {
			want[i], err = s.Fails(ctx, sc)
			require.NoError(t, err)
		}
		assert.Equal(t, want, counts, "fail counts of %s %v", tt.user, tt.scopes)
		stored, err := s.Sessions(ctx, tt.user)
		require.NoError(t, err)
		assert.ElementsMatch(t, ids(stored), ids(sessions), "sessions of %s", tt.user)
	}
}
