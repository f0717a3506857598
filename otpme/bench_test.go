package otpme_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// benchSessionHits measures a mail server's re-bind: alice logged in to the
// webmail with an mOTP code, which opened a session there (and a child
// session for IMAP); every further bind with the same code is found among
// her sessions and counted as one more login (memory store). setup runs
// before the login.
func benchSessionHits(b *testing.B, trace bool, setup func(m *mail)) {
	m := newMail(b, nil)
	if setup != nil {
		setup(m)
	}
	c := m.code(b)
	if r := m.verify(b, "alice", c, "roundcube"); r.Event.Code != otpme.AuthOKOTP {
		b.Fatalf("login: %v", r.Event.Code)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: c, Client: "roundcube", Trace: trace})
		if err != nil || r.Event.Code != otpme.AuthOKSession {
			b.Fatalf("re-bind: %v %v", r.Event.Code, err)
		}
	}
}

// BenchmarkEngine_VerifySessionHit: the proxy asks for the trace only when
// it logs at debug level.
func BenchmarkEngine_VerifySessionHit(b *testing.B) {
	b.Run("no-trace", func(b *testing.B) { benchSessionHits(b, false, nil) })
	b.Run("trace", func(b *testing.B) { benchSessionHits(b, true, nil) })
}

// BenchmarkEngine_VerifySessionHitGroups is the re-bind beside n other
// access groups: the engine's view of the groups is kept between
// verifications, so it costs the same whatever the number of groups.
func BenchmarkEngine_VerifySessionHitGroups(b *testing.B) {
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchSessionHits(b, false, func(m *mail) {
				for i := range n {
					must(b, m.objs.AddGroup(m.ctx, fmt.Sprintf("g%04d", i)))
				}
			})
		})
	}
}

// BenchmarkEngine_VerifySessionHitSessions is the re-bind while the memory
// store holds n sessions of other users.
func BenchmarkEngine_VerifySessionHitSessions(b *testing.B) {
	for _, n := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchSessionHits(b, false, func(m *mail) {
				others := make([]otpme.Session, n)
				for i := range others {
					others[i] = otpme.Session{ID: fmt.Sprintf("s%06d", i), User: fmt.Sprintf("u%06d", i), Group: "g",
						AuthType: otpme.AuthClearText, Created: t0, LastUsed: t0, Expires: t0.Add(24 * time.Hour),
						UnusedTimeout: 24 * time.Hour, Salt: []byte("salt"), PasswordHash: []byte("h"), LogoutHash: []byte("l")}
				}
				must(b, m.store.CreateSessions(m.ctx, others))
			})
		})
	}
}
