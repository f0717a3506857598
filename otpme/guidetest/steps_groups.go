package guidetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// walkClientsAndGroups: clients, access groups, tokens restricted to
// groups.
func walkClientsAndGroups(w *walk) []Step {
	return []Step{
		{338, "client-add-linksys1", func(t *testing.T) {
			// Time passes while the admin sets up clients and groups: the
			// user session above ends by its unused timeout (5 min).
			w.clock.Advance(10 * time.Minute)
			must(t, w.objs().AddClient(w.ctx, "linksys1"))
		}},
		{340, "client-show", func(t *testing.T) {
			assert.Equal(t, []string{"linksys1 Enabled Disabled -"}, w.clientRows(t))
		}},
		{352, "group-add-wlan", func(t *testing.T) { must(t, w.objs().AddGroup(w.ctx, "wlan")) }},
		{354, "group-show", func(t *testing.T) {
			assert.Equal(t, []string{"wlan Enabled - 5 Disabled - False 0 30 5"}, w.groupRows(t))
		}},
		{363, "client-access-group-linksys1-wlan", func(t *testing.T) {
			must(t, w.objs().SetClientAccessGroup(w.ctx, "linksys1", "wlan"))
		}},
		{365, "client-show", func(t *testing.T) {
			assert.Equal(t, []string{"linksys1 Enabled Disabled wlan"}, w.clientRows(t))
		}},
		{372, "token-add-group-notebook-wlan", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser1", "notebook", "wlan"))
			// "You should do the same for testuser2."
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser2", "tablet", "wlan"))
		}},
		{374, "user-show-groups", func(t *testing.T) {
			assert.Equal(t, []string{"status: active (0 failed logins)", "sessions: Enabled", "max_fail: 5",
				"mobile-otp motp Enabled -", "notebook password Enabled wlan"}, w.userInfo(t, "testuser1"))
		}},
		{391, "client-add-roundcube", func(t *testing.T) { must(t, w.objs().AddClient(w.ctx, "roundcube")) }},
		{392, "group-add-webmail", func(t *testing.T) { must(t, w.objs().AddGroup(w.ctx, "webmail")) }},
		{393, "client-access-group-roundcube-webmail", func(t *testing.T) {
			must(t, w.objs().SetClientAccessGroup(w.ctx, "roundcube", "webmail"))
		}},
		{394, "token-add-group-testuser1-webmail", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser1", "mobile-otp", "webmail"))
		}},
		{395, "token-add-group-testuser2-webmail", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser2", "mobile-otp", "webmail"))
		}},
		{402, "verify-static-wlan", func(t *testing.T) {
			w.auth(t, "testuser1", "yahxoqueethequiw", "linksys1", want{code: otpme.AuthOKStatic, token: "notebook", group: "wlan", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'linksys1' exists.
DEBUG: Got access group 'wlan' from client config.
DEBUG: Session creation for access group 'wlan' is disabled. Verification of parent sessions will still be done.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'wlan'.
DEBUG: Selecting token 'notebook' based on access group 'wlan'.
DEBUG: Will try the following static password tokens to verify this request: notebook
DEBUG: Verifying static password tokens...
DEBUG: Verifying token 'notebook'.
DEBUG: Token 'notebook' verified successful.
INFO: AUTH_OK_STATIC: user=testuser1 token=notebook access_group=wlan client=linksys1 client_ip= auth_type=clear-text session=`})
		}},
		// The guide prints "Selecting token 'mobile-otp' …" twice; once here.
		{418, "verify-static-webmail-refused", func(t *testing.T) {
			w.auth(t, "testuser1", "yahxoqueethequiw", "roundcube", want{code: otpme.AuthFailed, group: "webmail", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'roundcube' exists.
DEBUG: Got access group 'webmail' from client config.
DEBUG: Session creation for access group 'webmail' is disabled. Verification of parent sessions will still be done.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'webmail'.
DEBUG: Selecting token 'mobile-otp' based on access group 'webmail'.
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Counting failed login for this request.
WARNING: AUTH_FAILED: user=testuser1 token= access_group=webmail client=roundcube client_ip= auth_type=clear-text session=`})
		}},
		{436, "token-gen-e25f5a", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "e25f5a") }},
		// Sessions of webmail are off: no session (the guide's event shows
		// a "new:" ID nonetheless).
		{439, "verify-otp-webmail", func(t *testing.T) {
			w.auth(t, "testuser1", "e25f5a", "roundcube", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "webmail", guide: `
DEBUG: Selecting token 'mobile-otp' based on access group 'webmail'.
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.
DEBUG: Adding OTP from this session to used OTPs of the user.
INFO: Resetting login fail count for 'testuser1/webmail' from '1' to '0'.`})
		}},
		{459, "token-gen-b1d922", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "b1d922") }},
		{462, "verify-otp-wlan-refused", func(t *testing.T) {
			w.auth(t, "testuser1", "b1d922", "linksys1", want{code: otpme.AuthFailed, group: "wlan", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'linksys1' exists.
DEBUG: Got access group 'wlan' from client config.
DEBUG: Session creation for access group 'wlan' is disabled. Verification of parent sessions will still be done.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'wlan'.
DEBUG: Selecting token 'notebook' based on access group 'wlan'.
DEBUG: Will try the following static password tokens to verify this request: notebook
DEBUG: Verifying static password tokens...
DEBUG: Verifying token 'notebook'.
DEBUG: Verifying otp tokens...
DEBUG: Counting failed login for this request.
WARNING: AUTH_FAILED: user=testuser1 token= access_group=wlan client=linksys1 client_ip= auth_type=clear-text session=`})
		}},
	}
}

// walkGroupSessions: sessions of an access group, the session list,
// timeouts, a client rename, a second client on the same group.
func walkGroupSessions(w *walk) []Step {
	const sessionHit = `
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:webmail:clear-text:<id>'.
DEBUG: Authentication parameters of request matching session 'testuser1:webmail:clear-text:<id>'.
DEBUG: Token 'mobile-otp' used at session login is a token of user 'testuser1'.
DEBUG: Verifying if access group 'webmail' is in access_groups of token 'mobile-otp'.
DEBUG: Access group 'webmail' is in token access groups and enabled, so its valid.
DEBUG: Session token 'mobile-otp' is owned by user 'testuser1'. Session valid.
DEBUG: Updating last used timestamp of session 'testuser1:webmail:clear-text:<id>'.`
	return []Step{
		{494, "group-enable-sessions-webmail", func(t *testing.T) { must(t, w.objs().SetGroupSessions(w.ctx, "webmail", true)) }},
		{501, "user-disable-sessions", func(t *testing.T) {
			must(t, w.objs().SetUserSessions(w.ctx, "testuser1", false))
			// "… and also disable ALLOW_GROUP_MISSING in otpme.conf".
			w.b.SetAllowGroupMissing(t, false)
			w.auth(t, "testuser1", "yahxoqueethequiw", "", want{code: otpme.AuthGroupMissing})
		}},
		{509, "token-gen-d1f9c1", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "d1f9c1") }},
		{512, "verify-otp-opens-session", func(t *testing.T) {
			w.times["05f6-created"] = w.clock.Now()
			w.auth(t, "testuser1", "d1f9c1", "roundcube", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "webmail", session: "new:05f6ac9c", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'roundcube' exists.
DEBUG: Got access group 'webmail' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'webmail'.
DEBUG: Selecting token 'mobile-otp' based on access group 'webmail'.
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.
DEBUG: Adding OTP from this session to used OTPs of the user.
DEBUG: adding parent session 'testuser1:webmail:clear-text:05f6ac9c243faf17d92e82c615c7dec4'
INFO: AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group=webmail client=roundcube client_ip= auth_type=clear-text session=new:05f6ac9c243faf17d92e82c615c7dec4`})
		}},
		{533, "verify-session-webmail", func(t *testing.T) {
			w.clock.Advance(time.Minute)
			w.auth(t, "testuser1", "d1f9c1", "roundcube", want{code: otpme.AuthOKSession, token: "mobile-otp", group: "webmail", session: "05f6ac9c", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'roundcube' exists.
DEBUG: Got access group 'webmail' from client config.` + sessionHit + `
INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp access_group=webmail client=roundcube client_ip= auth_type=clear-text session=05f6ac9c243faf17d92e82c615c7dec4`})
		}},
		{550, "session-show", func(t *testing.T) {
			ss, err := w.eng(t).Sessions(w.ctx, "testuser1")
			require.NoError(t, err)
			require.Len(t, ss, 1, "the user session has ended by its unused timeout")
			s, now, created := ss[0], w.clock.Now(), w.times["05f6-created"]
			assert.Equal(t, []string{w.sessions["05f6ac9c"], "testuser1", "mobile-otp", "clear-text", "webmail", "roundcube", w.b.ClientIP("roundcube")},
				[]string{s.ID, s.User, s.Token, s.AuthType, s.AccessGroup, s.Client, s.ClientIP})
			assert.Equal(t, []time.Time{now, created.Add(30 * time.Minute), now.Add(5 * time.Minute)},
				[]time.Time{s.LastLogin, s.Expires, s.UnusedExpires}, "last login, expire, unused expire")
		}},
		{563, "group-timeout-webmail-600", func(t *testing.T) {
			must(t, w.objs().SetTimeout(w.ctx, "webmail", 600*time.Minute))
		}},
		{564, "group-unused-timeout-webmail-60", func(t *testing.T) {
			must(t, w.objs().SetUnusedTimeout(w.ctx, "webmail", 60*time.Minute))
			assert.Contains(t, w.groupRows(t), "webmail Enabled - 5 Enabled - False 0 600 60")
		}},
		{574, "client-rename-roundcube-cyrus-imap", func(t *testing.T) {
			must(t, w.objs().RenameClient(w.ctx, "roundcube", "cyrus-imap"))
		}},
		{576, "client-show-renamed", func(t *testing.T) {
			assert.Equal(t, []string{"cyrus-imap Enabled Disabled webmail", "linksys1 Enabled Disabled wlan"}, w.clientRows(t))
		}},
		{592, "client-add-postfix", func(t *testing.T) { must(t, w.objs().AddClient(w.ctx, "postfix")) }},
		{596, "client-access-group-postfix-webmail", func(t *testing.T) {
			must(t, w.objs().SetClientAccessGroup(w.ctx, "postfix", "webmail"))
		}},
		{600, "token-gen-a1bf23", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "a1bf23") }},
		{603, "verify-otp-cyrus-imap", func(t *testing.T) {
			w.auth(t, "testuser1", "a1bf23", "cyrus-imap", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "webmail", session: "new:ea1e658b", guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'cyrus-imap' exists.
DEBUG: Got access group 'webmail' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'webmail'.
DEBUG: Selecting token 'mobile-otp' based on access group 'webmail'.
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.
DEBUG: Adding OTP from this session to used OTPs of the user.
DEBUG: adding parent session 'testuser1:webmail:clear-text:ea1e658bf4c350446033cef1b7b0f447'
INFO: AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group=webmail client=cyrus-imap client_ip= auth_type=clear-text session=new:ea1e658bf4c350446033cef1b7b0f447`})
		}},
		{622, "verify-session-postfix", func(t *testing.T) {
			w.auth(t, "testuser1", "a1bf23", "postfix", want{code: otpme.AuthOKSession, token: "mobile-otp", group: "webmail", session: "ea1e658b", guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'postfix' exists.
DEBUG: Got access group 'webmail' from client config.` + sessionHit + `
INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp access_group=webmail client=postfix client_ip= auth_type=clear-text session=ea1e658bf4c350446033cef1b7b0f447`})
		}},
	}
}
