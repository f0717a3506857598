package otpme_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ldapotp/ldapotp/otpme"
)

func TestEvent_String(t *testing.T) {
	tests := []struct {
		name string
		ev   otpme.Event
		want string
	}{
		{"guide-line", otpme.Event{Code: otpme.AuthOKOTP, User: "testuser1", Token: "mobile-otp", AccessGroup: "webmail",
			Client: "roundcube", AuthType: otpme.AuthClearText, Session: "new:c82195200c984ce6c8606b510a652979"},
			"AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group=webmail client=roundcube client_ip= auth_type=clear-text session=new:c82195200c984ce6c8606b510a652979"},
		{"empty-fields", otpme.Event{Code: otpme.AuthTokenMissing, User: "testuser1", AuthType: otpme.AuthClearText},
			"AUTH_TOKEN_MISSING: user=testuser1 token= access_group= client= client_ip= auth_type=clear-text session="},
		{"ip", otpme.Event{Code: otpme.AuthFailed, User: "u", ClientIP: "2001:db8::1"},
			"AUTH_FAILED: user=u token= access_group= client= client_ip=2001:db8::1 auth_type= session="},
		{"injection-quoted", otpme.Event{Code: otpme.AuthUserUnknown, User: "x session=forged\nAUTH_OK_OTP: user=admin"},
			`AUTH_USER_UNKNOWN: user="x session=forged\nAUTH_OK_OTP: user=admin" token= access_group= client= client_ip= auth_type= session=`},
		{"quote-quoted", otpme.Event{Code: otpme.AuthUserUnknown, User: `a"b`}, `AUTH_USER_UNKNOWN: user="a\"b" token= access_group= client= client_ip= auth_type= session=`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.ev.String()) })
	}
}

func TestEventCode_OK(t *testing.T) {
	for _, c := range []otpme.EventCode{otpme.AuthOKStatic, otpme.AuthOKOTP, otpme.AuthOKSession, otpme.AuthOKTrustPW} {
		assert.True(t, c.OK(), c)
	}
	for _, c := range []otpme.EventCode{otpme.AuthFailed, otpme.AuthTokenMissing, otpme.AuthUserLocked, otpme.AuthUserUnknown,
		otpme.AuthUserDisabled, otpme.AuthOTPAlreadyUsed, otpme.AuthSessionMaxLogin, otpme.AuthSessionNoValidGroup,
		otpme.AuthSessionLogout, otpme.AuthClientUnknown, otpme.AuthClientDisabled, otpme.AuthClientAddress,
		otpme.AuthGroupMissing, otpme.AuthGroupUnknown, otpme.AuthGroupDisabled, ""} {
		assert.False(t, c.OK(), c)
	}
}

func TestKind_String(t *testing.T) {
	for k, want := range map[otpme.Kind]string{otpme.KindNone: "none", otpme.KindStatic: "static", otpme.KindOTP: "otp",
		otpme.KindSession: "session", otpme.KindTrust: "trust", otpme.Kind(9): "Kind(9)"} {
		assert.Equal(t, want, k.String())
	}
}

func TestSession_Expired(t *testing.T) {
	s := otpme.Session{LastUsed: t0.Add(10 * time.Minute), Expires: t0.Add(30 * time.Minute), UnusedTimeout: 5 * time.Minute}
	tests := []struct {
		name string
		s    otpme.Session
		at   time.Duration
		want string
	}{
		{"live", s, 14 * time.Minute, ""},
		{"unused-at-the-limit", s, 15 * time.Minute, otpme.ExpiredUnusedTimeout},
		{"hard-before-unused", func() otpme.Session { x := s; x.LastUsed = t0.Add(29 * time.Minute); return x }(), 30 * time.Minute, otpme.ExpiredTimeout},
		{"no-limits", otpme.Session{LastUsed: t0}, 1000 * time.Hour, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expired, why := tt.s.Expired(t0.Add(tt.at))
			assert.Equal(t, tt.want != "", expired)
			assert.Equal(t, tt.want, why)
		})
	}
}

func TestSessionFilter_Match(t *testing.T) {
	s := otpme.Session{ID: "i", Login: "l", User: "u", Group: "g", Token: "t"}
	tests := []struct {
		name string
		f    otpme.SessionFilter
		want bool
	}{
		{"zero-matches", otpme.SessionFilter{}, true},
		{"all-fields", otpme.SessionFilter{ID: "i", Login: "l", User: "u", Group: "g", Token: "t"}, true},
		{"one-differs", otpme.SessionFilter{User: "u", Group: "h"}, false},
		{"token-differs", otpme.SessionFilter{Token: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.f.Match(s)) })
	}
}
