package guidetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// masterOpens is the guide's session-master creation: webmail's session
// and its child sessions imap and smtp.
const masterOpens = `
DEBUG: Found a valid session master: 'webmail'.
DEBUG: adding parent session 'testuser1:webmail:clear-text:<id>'
DEBUG: adding child session 'testuser1:imap:clear-text:<id>'.
DEBUG: adding child session 'testuser1:smtp:clear-text:<id>'.`

// imapViaWebmail is the guide's re-use of an imap child session.
const imapViaWebmail = `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'cyrus-imap' exists.
DEBUG: Got access group 'imap' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:imap:clear-text:<id>'.
DEBUG: Authentication parameters of request matching session 'testuser1:imap:clear-text:<id>'.
DEBUG: Token 'mobile-otp' used at session login is a token of user 'testuser1'.
DEBUG: Verifying if access group 'imap' is in access_groups of token 'mobile-otp'.
DEBUG: Access group 'imap' is NOT in token access groups. Verifying parent groups.
DEBUG: Parent group 'webmail' IS in token access groups and enabled, so its valid.
INFO: Found a valid parent access group: 'webmail'
DEBUG: Session token 'mobile-otp' is owned by user 'testuser1'. Session valid.
DEBUG: Updating last used timestamp of session 'testuser1:imap:clear-text:<id>'.`

// walkSessionMaster: webmail as session master of imap and smtp, so a
// login through either opens all three sessions.
func walkSessionMaster(w *walk) []Step {
	return []Step{
		// "remove_child imap smtp": smtp is no child group of imap any more
		// (L825); what is left, and what the next "group show" no longer
		// lists, is smtp as child session of imap.
		{968, "group-remove-child-session-imap-smtp", func(t *testing.T) {
			must(t, w.objs().RemoveChildSession(w.ctx, "imap", "smtp"))
		}},
		{972, "group-add-child-session-webmail-imap", func(t *testing.T) { must(t, w.objs().AddChildSession(w.ctx, "webmail", "imap")) }},
		{973, "group-add-child-session-webmail-smtp", func(t *testing.T) { must(t, w.objs().AddChildSession(w.ctx, "webmail", "smtp")) }},
		{975, "group-enable-sessions-imap", func(t *testing.T) { must(t, w.objs().SetGroupSessions(w.ctx, "imap", true)) }},
		{976, "group-enable-sessions-smtp", func(t *testing.T) { must(t, w.objs().SetGroupSessions(w.ctx, "smtp", true)) }},
		{977, "group-enable-sessions-webmail", func(t *testing.T) { must(t, w.objs().SetGroupSessions(w.ctx, "webmail", true)) }},
		{981, "group-enable-session-master-webmail", func(t *testing.T) { must(t, w.objs().SetSessionMaster(w.ctx, "webmail", true)) }},
		{985, "group-show", func(t *testing.T) {
			assert.Equal(t, []string{
				"imap Enabled - 5 Enabled - False 0 30 5",
				"smtp Enabled - 5 Enabled - False 0 30 5",
				"webmail Enabled imap,smtp 5 Enabled imap,smtp True 0 30 5",
				"wlan Enabled - 5 Disabled - False 0 30 5",
			}, w.groupRows(t))
		}},
		{996, "token-gen-57b99e", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "57b99e") }},
		// The guide's event names the master's session without "new:"; ours
		// names the new session of the request's group (smtp).
		{999, "verify-otp-postfix-opens-master-sessions", func(t *testing.T) {
			w.auth(t, "testuser1", "57b99e", "postfix", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "smtp", session: "new:20f93b9d", guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'postfix' exists.
DEBUG: Got access group 'smtp' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'smtp'.
DEBUG: Selecting token 'mobile-otp' based on parent access group 'webmail'.
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.
DEBUG: Adding OTP from this session to used OTPs of the user.` + masterOpens})
			w.recordSession(t, "testuser1", "imap", "5da1f344")
		}},
		// The guide resets 'testuser1/imap' "from '3'": it made failures it
		// does not show. Ours counted one (L936).
		{1020, "verify-session-imap-from-master", func(t *testing.T) {
			w.auth(t, "testuser1", "57b99e", "cyrus-imap", want{code: otpme.AuthOKSession, token: "mobile-otp", group: "imap", session: "5da1f344",
				guide: imapViaWebmail + `
INFO: Resetting login fail count for 'testuser1/imap' from '1' to '0'.
INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp access_group=imap client=cyrus-imap client_ip= auth_type=clear-text session=5da1f344dbfdfe42bc22d120f6a3b788`})
		}},
		{1042, "verify-spam-imap", func(t *testing.T) {
			w.auth(t, "spam", "ieteijefohkeecai", "cyrus-imap", want{code: otpme.AuthOKStatic, token: "imap-pass", group: "imap", exact: true, guide: spamStatic})
		}},
		// The guide does not show "Counting failed login" here (it does at
		// L895, the same case); we count.
		{1057, "verify-spam-smtp-refused", func(t *testing.T) {
			w.auth(t, "spam", "ieteijefohkeecai", "postfix", want{code: otpme.AuthTokenMissing, group: "smtp", guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'postfix' exists.
DEBUG: Got access group 'smtp' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'smtp'.
WARNING: Unable to find a token to verify this request.
WARNING: AUTH_TOKEN_MISSING: user=spam token= access_group=smtp client=postfix client_ip= auth_type=clear-text session=`})
		}},
	}
}

// walkPlugin: the webmail plugin's client, max_login 1, SLP logout and
// the client trust password.
func walkPlugin(w *walk) []Step {
	return []Step{
		{1086, "client-add-roundcube", func(t *testing.T) { must(t, w.objs().AddClient(w.ctx, "roundcube")) }},
		{1087, "client-access-group-roundcube-webmail", func(t *testing.T) {
			must(t, w.objs().SetClientAccessGroup(w.ctx, "roundcube", "webmail"))
		}},
		{1089, "client-show", func(t *testing.T) {
			assert.Equal(t, []string{"cyrus-imap Enabled Disabled imap", "linksys1 Enabled Disabled wlan",
				"postfix Enabled Disabled smtp", "roundcube Enabled Disabled webmail"}, w.clientRows(t))
		}},
		{1099, "group-max-login-webmail-1", func(t *testing.T) { must(t, w.objs().SetMaxLogin(w.ctx, "webmail", 1)) }},
		{1103, "token-gen-5f0735", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "5f0735") }},
		// The guide resets 'testuser1/webmail' "from '1'": webmail was
		// deleted and added again since, with no failure in between.
		{1106, "verify-otp-roundcube", func(t *testing.T) {
			w.auth(t, "testuser1", "5f0735", "roundcube", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "webmail", session: "new:c8219520", guide: `
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
DEBUG: Adding OTP from this session to used OTPs of the user.` + masterOpens + `
INFO: AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group=webmail client=roundcube client_ip= auth_type=clear-text session=new:c82195200c984ce6c8606b510a652979`})
			w.recordSession(t, "testuser1", "imap", "f73a8a40")
		}},
		{1130, "verify-session-max-login", func(t *testing.T) {
			w.auth(t, "testuser1", "5f0735", "roundcube", want{code: otpme.AuthSessionMaxLogin, group: "webmail", guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'roundcube' exists.
DEBUG: Got access group 'webmail' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:webmail:clear-text:c82195200c984ce6c8606b510a652979'.
DEBUG: Authentication parameters of request matching session 'testuser1:webmail:clear-text:c82195200c984ce6c8606b510a652979'.
DEBUG: Token 'mobile-otp' used at session login is a token of user 'testuser1'.
DEBUG: Verifying if access group 'webmail' is in access_groups of token 'mobile-otp'.
DEBUG: Access group 'webmail' is in token access groups and enabled, so its valid.
WARNING: Session verification failed because max login count (1) is reached.
DEBUG: Counting failed login for this request.
WARNING: AUTH_SESSION_MAX_LOGIN: user=testuser1 token= access_group=webmail client=roundcube client_ip= auth_type=clear-text session=`})
		}},
		{1147, "verify-session-imap-child", func(t *testing.T) {
			w.auth(t, "testuser1", "5f0735", "cyrus-imap", want{code: otpme.AuthOKSession, token: "mobile-otp", group: "imap", session: "f73a8a40",
				guide: imapViaWebmail + `
INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp access_group=imap client=cyrus-imap client_ip= auth_type=clear-text session=f73a8a4047b12c24a418b971cd5e3ad6`})
		}},
		{1168, "tool-gen-logout", func(t *testing.T) {
			slp := w.eng(t).GenLogout(w.secret("5f0735"))
			assert.Regexp(t, `^[0-9a-f]{32}$`, string(slp))
			w.secrets["2c73d0"] = slp
		}},
		{1171, "verify-slp-logout", func(t *testing.T) {
			w.auth(t, "testuser1", "2c73d0", "roundcube", want{code: otpme.AuthSessionLogout, group: "webmail", guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'roundcube' exists.
DEBUG: Got access group 'webmail' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:webmail:clear-text:<id>'.
DEBUG: This is a logout request for session 'testuser1:webmail:clear-text:<id>'.
DEBUG: Token 'mobile-otp' used at session login is a token of user 'testuser1'.
DEBUG: Verifying if access group 'webmail' is in access_groups of token 'mobile-otp'.
DEBUG: Access group 'webmail' is in token access groups and enabled, so its valid.
INFO: Logout request detected. Removing session 'testuser1:webmail:clear-text:<id>'
WARNING: AUTH_SESSION_LOGOUT: user=testuser1 token= access_group=webmail client=roundcube client_ip= auth_type=clear-text session=`})
			// Our choice: the logout ends the sessions opened with it too.
			w.auth(t, "testuser1", "5f0735", "cyrus-imap", want{code: otpme.AuthOTPAlreadyUsed, token: "mobile-otp", group: "imap"})
		}},
		{1191, "client-secret-roundcube", func(t *testing.T) {
			secret, err := w.objs().SetClientSecret(w.ctx, "roundcube", nil)
			require.NoError(t, err)
			assert.Regexp(t, `^[0-9a-f]{32}$`, string(secret))
		}},
		{1197, "client-enable-tp-roundcube", func(t *testing.T) { must(t, w.objs().SetTrustCheck(w.ctx, "roundcube", true)) }},
		{1199, "client-show", func(t *testing.T) {
			assert.Equal(t, "roundcube Enabled Enabled webmail", w.clientRows(t)[3])
		}},
		{1209, "token-gen-3a5e9d", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "3a5e9d") }},
		{1212, "tool-gen-client-tp", func(t *testing.T) {
			ctp, err := w.eng(t).GenClientTP(w.ctx, "roundcube", w.secret("3a5e9d"))
			require.NoError(t, err)
			assert.Regexp(t, `^[0-9a-f]{32}$`, string(ctp))
			w.secrets["bef56300a694ce7d0e6828e080952c5e"] = ctp
		}},
		{1215, "verify-ctp", func(t *testing.T) {
			// With the trust check on, the bare code is refused.
			w.auth(t, "testuser1", "3a5e9d", "roundcube", want{code: otpme.AuthFailed, group: "webmail"})
			w.auth(t, "testuser1", "bef56300a694ce7d0e6828e080952c5e", "roundcube", want{code: otpme.AuthOKTrustPW, token: "mobile-otp", group: "webmail", session: "new:971863c1", guide: `
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
DEBUG: Token 'mobile-otp' verified successful with a trust password of client 'roundcube'.
DEBUG: Adding OTP from this session to used OTPs of the user.` + masterOpens + `
INFO: AUTH_OK_TRUST_PW: user=testuser1 token=mobile-otp access_group=webmail client=roundcube client_ip= auth_type=clear-text session=new:971863c1ba69df908bca59aeeca95e52`})
			// "the child sessions for imap and smtp will use the secure CTP".
			w.recordSession(t, "testuser1", "imap", "77d739b8")
			w.auth(t, "testuser1", "bef56300a694ce7d0e6828e080952c5e", "cyrus-imap", want{code: otpme.AuthOKSession, token: "mobile-otp", group: "imap", session: "77d739b8", guide: imapViaWebmail})
		}},
	}
}
