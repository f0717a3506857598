package guidetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// walkFirstUser: one user without token, failed logins counted once per
// password, the lock at max_fail, a static password token, unlock.
func walkFirstUser(w *walk) []Step {
	const missing = `
DEBUG: Processing clear-text authentication request.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: NOTICE: ALLOW_GROUP_MISSING is configured. Getting a list of all user tokens.
WARNING: Unable to find a token to verify this request.
DEBUG: Counting failed login for this request.
WARNING: AUTH_TOKEN_MISSING: user=testuser1 token= access_group= client= client_ip= auth_type=clear-text session=`
	random := func(line int, pw string, code otpme.EventCode) Step {
		return Step{line, "verify-random-" + pw, func(t *testing.T) { w.auth(t, "testuser1", pw, "", want{code: code}) }}
	}
	return []Step{
		{19, "user-show-empty", func(t *testing.T) { assert.Empty(t, w.userRows(t)) }},
		{27, "user-add-testuser1", func(t *testing.T) { must(t, w.objs().AddUser(w.ctx, "testuser1")) }},
		{31, "user-show", func(t *testing.T) {
			assert.Equal(t, []string{"testuser1 Enabled Disabled 0 5"}, w.userRows(t))
		}},
		{38, "user-show-testuser1", func(t *testing.T) {
			assert.Equal(t, []string{"status: active (0 failed logins)", "sessions: Disabled", "max_fail: 5"}, w.userInfo(t, "testuser1"))
		}},
		{53, "verify-somepass", func(t *testing.T) {
			w.auth(t, "testuser1", "somepass", "", want{code: otpme.AuthTokenMissing})
		}},
		{58, "verify-d-somepass", func(t *testing.T) {
			w.auth(t, "testuser1", "somepass", "", want{code: otpme.AuthTokenMissing, guide: missing, exact: true})
		}},
		{72, "user-show-one-fail", func(t *testing.T) {
			assert.Equal(t, "status: active (1 failed logins)", w.userInfo(t, "testuser1")[0], "the same password counts once")
		}},
		// Failures 2..5 are counted; at 5 (max_fail) the account locks, and
		// a locked account's attempts still count: the guide shows 7.
		random(89, "17841", otpme.AuthTokenMissing),
		random(91, "2291", otpme.AuthTokenMissing),
		random(93, "30475", otpme.AuthTokenMissing),
		random(95, "8092", otpme.AuthTokenMissing),
		random(97, "21007", otpme.AuthUserLocked),
		random(99, "5532", otpme.AuthUserLocked),
		{104, "user-show-locked", func(t *testing.T) {
			assert.Equal(t, "status: locked!!! (7 failed logins)", w.userInfo(t, "testuser1")[0])
		}},
		{119, "token-add-notebook-password", func(t *testing.T) {
			pw, err := w.objs().AddPasswordToken(w.ctx, "testuser1", "notebook")
			require.NoError(t, err)
			assert.Len(t, pw, otpme.GeneratedPasswordLength)
			w.secrets["yahxoqueethequiw"] = pw
		}},
		{122, "user-show-token", func(t *testing.T) {
			assert.Equal(t, []string{"status: locked!!! (7 failed logins)", "sessions: Disabled", "max_fail: 5",
				"notebook password Enabled -"}, w.userInfo(t, "testuser1"))
		}},
		{140, "verify-locked", func(t *testing.T) {
			w.auth(t, "testuser1", "yahxoqueethequiw", "", want{code: otpme.AuthUserLocked})
		}},
		{145, "verify-d-locked", func(t *testing.T) {
			w.auth(t, "testuser1", "yahxoqueethequiw", "", want{code: otpme.AuthUserLocked, guide: `
DEBUG: Processing clear-text authentication request.
WARNING: User 'testuser1' is locked.
WARNING: AUTH_USER_LOCKED: user=testuser1 token= access_group= client= client_ip= auth_type=clear-text session=`})
		}},
		{155, "user-unlock", func(t *testing.T) { must(t, w.eng(t).Unlock(w.ctx, "testuser1")) }},
		{157, "user-show-unlocked", func(t *testing.T) {
			assert.Equal(t, "status: active (0 failed logins)", w.userInfo(t, "testuser1")[0])
		}},
		// The guide then resets "from '1'": after an unlock the count is 0,
		// so no reset is traced.
		{173, "verify-static", func(t *testing.T) {
			w.auth(t, "testuser1", "yahxoqueethequiw", "", want{code: otpme.AuthOKStatic, token: "notebook", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: NOTICE: ALLOW_GROUP_MISSING is configured. Getting a list of all user tokens.
DEBUG: Will try the following static password tokens to verify this request: notebook
DEBUG: Verifying static password tokens...
DEBUG: Verifying token 'notebook'.
DEBUG: Token 'notebook' verified successful.
INFO: AUTH_OK_STATIC: user=testuser1 token=notebook access_group= client= client_ip= auth_type=clear-text session=`})
		}},
	}
}

// walkTokens: the second user, mOTP tokens, used codes, user sessions.
func walkTokens(w *walk) []Step {
	const otpHead = `
DEBUG: Processing clear-text authentication request.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: NOTICE: ALLOW_GROUP_MISSING is configured. Getting a list of all user tokens.
DEBUG: Will try the following static password tokens to verify this request: notebook
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying token 'notebook'.
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.`
	return []Step{
		{193, "user-show-two-users", func(t *testing.T) {
			// "Now you should add the second user … and check that
			// authentication works for the second user."
			must(t, w.objs().AddUser(w.ctx, "testuser2"))
			pw, err := w.objs().AddPasswordToken(w.ctx, "testuser2", "tablet")
			require.NoError(t, err)
			w.secrets["tablet-password"] = pw
			w.auth(t, "testuser2", "tablet-password", "", want{code: otpme.AuthOKStatic, token: "tablet"})
			assert.Equal(t, []string{"testuser1 Enabled Disabled 0 5", "testuser2 Enabled Disabled 0 5"}, w.userRows(t))
		}},
		{199, "user-show-testuser1", func(t *testing.T) {
			assert.Equal(t, []string{"status: active (0 failed logins)", "sessions: Disabled", "max_fail: 5",
				"notebook password Enabled -"}, w.userInfo(t, "testuser1"))
		}},
		{211, "user-show-testuser2", func(t *testing.T) {
			assert.Equal(t, []string{"status: active (0 failed logins)", "sessions: Disabled", "max_fail: 5",
				"tablet password Enabled -"}, w.userInfo(t, "testuser2"))
		}},
		{225, "token-add-testuser1-mobile-otp-motp", func(t *testing.T) {
			must(t, w.objs().AddMOTPToken(w.ctx, "testuser1", "mobile-otp", nil, nil))
		}},
		// The guide repeats testuser1; it means testuser2 ("add another
		// token to both users"), whose mobile-otp it uses later.
		{226, "token-add-testuser2-mobile-otp-motp", func(t *testing.T) {
			must(t, w.objs().AddMOTPToken(w.ctx, "testuser2", "mobile-otp", nil, nil))
		}},
		{228, "user-show-motp", func(t *testing.T) {
			assert.Equal(t, []string{"status: active (0 failed logins)", "sessions: Disabled", "max_fail: 5",
				"mobile-otp motp Enabled -", "notebook password Enabled -"}, w.userInfo(t, "testuser1"))
		}},
		{248, "token-gen-eaba7e", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "eaba7e") }},
		// The guide's event shows session=new:… although no session is
		// created (the user's sessions are off): we leave it empty.
		{251, "verify-otp", func(t *testing.T) {
			w.auth(t, "testuser1", "eaba7e", "", want{code: otpme.AuthOKOTP, token: "mobile-otp",
				guide: otpHead + "\nDEBUG: Adding OTP from this session to used OTPs of the user."})
		}},
		{271, "verify-otp-already-used", func(t *testing.T) {
			w.auth(t, "testuser1", "eaba7e", "", want{code: otpme.AuthOTPAlreadyUsed, token: "mobile-otp", exact: true, guide: otpHead + `
WARNING: OTP from this request was already used. Authentication will fail.
DEBUG: Counting failed login for this request.
WARNING: AUTH_OTP_ALREADY_USED: user=testuser1 token=mobile-otp access_group= client= client_ip= auth_type=clear-text session=`})
		}},
		{293, "user-enable-sessions", func(t *testing.T) { must(t, w.objs().SetUserSessions(w.ctx, "testuser1", true)) }},
		{297, "token-gen-6c305c", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "6c305c") }},
		{300, "verify-otp-new-session", func(t *testing.T) {
			w.auth(t, "testuser1", "6c305c", "", want{code: otpme.AuthOKOTP, token: "mobile-otp", session: "new:ac210cfc", exact: true, guide: otpHead + `
DEBUG: Adding OTP from this session to used OTPs of the user.
INFO: Resetting login fail count for 'testuser1' from '1' to '0'.
DEBUG: Creating session 'testuser1:clear-text:ac210cfcf084080b2fbdbfc5ab676618'.
INFO: AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group= client= client_ip= auth_type=clear-text session=new:ac210cfcf084080b2fbdbfc5ab676618`})
		}},
		{318, "verify-session", func(t *testing.T) {
			w.auth(t, "testuser1", "6c305c", "", want{code: otpme.AuthOKSession, token: "mobile-otp", session: "ac210cfc", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:clear-text:ac210cfcf084080b2fbdbfc5ab676618'.
DEBUG: Authentication parameters of request matching session 'testuser1:clear-text:ac210cfcf084080b2fbdbfc5ab676618'.
DEBUG: Token 'mobile-otp' used at session login is a token of user 'testuser1'.
DEBUG: Session token 'mobile-otp' is owned by user 'testuser1'. Session valid.
DEBUG: Updating last used timestamp of session 'testuser1:clear-text:ac210cfcf084080b2fbdbfc5ab676618'.
INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp access_group= client= client_ip= auth_type=clear-text session=ac210cfcf084080b2fbdbfc5ab676618`})
		}},
	}
}
