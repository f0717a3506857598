package otpme_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// FuzzEngine_Verify sends random passwords (alone, or appended to a real
// session password or SLP) through every client of the mail setup. Verify
// must not panic or fail, must end with an event, and may accept only a
// password that is really valid: the device password, the open session's
// password or a code of the current window.
func FuzzEngine_Verify(f *testing.F) {
	f.Add([]byte("wrong"), uint8(0), uint8(0))
	f.Add([]byte{}, uint8(1), uint8(1))
	f.Add([]byte{}, uint8(2), uint8(2))
	f.Add([]byte("x"), uint8(1), uint8(3))
	f.Add([]byte("e75d8f"), uint8(0), uint8(4))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint8(0), uint8(5))
	f.Add([]byte("0123456789abcdef0123456789abcdef"), uint8(0), uint8(1))
	clients := []string{"", "roundcube", "cyrus", "postfix", "ap", "nobody"}
	f.Fuzz(func(t *testing.T, pw []byte, mode, client uint8) {
		m := newMail(t, func(c *otpme.Config) { c.AllowGroupMissing = true })
		m.objs.SetRevoker(nil)
		open := m.code(t)
		m.verify(t, "alice", open, "roundcube")
		m.clock.Advance(time.Minute)
		switch mode % 3 {
		case 1:
			pw = append(append([]byte{}, open...), pw...)
		case 2:
			pw = append(append([]byte{}, otpme.LogoutPassword(open)...), pw...)
		}
		r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: pw, Client: clients[int(client)%len(clients)], Trace: true})
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if r.Event.Code == "" || len(r.Trace) == 0 {
			t.Fatalf("no event or trace: %+v", r)
		}
		if r.OK && !valid(m, pw, open) {
			t.Fatalf("accepted garbage with %s:\n%v", r.Event, r.Trace)
		}
	})
}

// valid reports whether pw is one of alice's valid passwords now.
func valid(m *mail, pw, open []byte) bool {
	if bytes.Equal(pw, m.laptop) || bytes.Equal(pw, open) {
		return true
	}
	tok, err := m.objs.Token(m.ctx, "alice", "phone")
	if err != nil {
		return false
	}
	for s := -otpme.DefaultMOTPWindow; s <= otpme.DefaultMOTPWindow; s++ {
		if string(pw) == otpme.MOTPCode(tok.Secret, tok.PIN, m.clock.Now().Add(time.Duration(s)*otpme.MOTPStep)) {
			return true
		}
	}
	return false
}
