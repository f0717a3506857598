package guidetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// smtpViaParent is the guide's check of a session of smtp whose token
// holds a parent of smtp (parent is the parent's name).
func smtpViaParent(parent string) string {
	return `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'postfix' exists.
DEBUG: Got access group 'smtp' from client config.
DEBUG: Session creation for access group 'smtp' is disabled. Verification of parent sessions will still be done.
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:smtp:clear-text:<id>'.
DEBUG: Authentication parameters of request matching session 'testuser1:smtp:clear-text:<id>'.
DEBUG: Token 'mobile-otp' used at session login is a token of user 'testuser1'.
DEBUG: Verifying if access group 'smtp' is in access_groups of token 'mobile-otp'.
DEBUG: Access group 'smtp' is NOT in token access groups. Verifying parent groups.
DEBUG: Parent group '` + parent + `' IS in token access groups and enabled, so its valid.
INFO: Found a valid parent access group: '` + parent + `'
DEBUG: Session token 'mobile-otp' is owned by user 'testuser1'. Session valid.
DEBUG: Updating last used timestamp of session 'testuser1:smtp:clear-text:<id>'.`
}

// spamStatic is the guide's static login of the user spam in group imap.
const spamStatic = `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'cyrus-imap' exists.
DEBUG: Got access group 'imap' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'imap'.
DEBUG: Selecting token 'imap-pass' based on access group 'imap'.
DEBUG: Will try the following static password tokens to verify this request: imap-pass
DEBUG: Verifying static password tokens...
DEBUG: Verifying token 'imap-pass'.
DEBUG: Token 'imap-pass' verified successful.
INFO: AUTH_OK_STATIC: user=spam token=imap-pass access_group=imap client=cyrus-imap client_ip= auth_type=clear-text session=`

// walkChildSessions: one group per client, deleting a group, child
// sessions, a session whose group the token lacks, child groups.
func walkChildSessions(w *walk) []Step {
	return []Step{
		{644, "group-add-smtp", func(t *testing.T) { must(t, w.objs().AddGroup(w.ctx, "smtp")) }},
		{645, "group-add-imap", func(t *testing.T) { must(t, w.objs().AddGroup(w.ctx, "imap")) }},
		{646, "client-access-group-postfix-smtp", func(t *testing.T) {
			must(t, w.objs().SetClientAccessGroup(w.ctx, "postfix", "smtp"))
		}},
		{647, "client-access-group-cyrus-imap-imap", func(t *testing.T) {
			must(t, w.objs().SetClientAccessGroup(w.ctx, "cyrus-imap", "imap"))
		}},
		{651, "group-del-webmail", func(t *testing.T) {
			used, err := w.objs().DelGroup(w.ctx, "webmail")
			require.NoError(t, err)
			assert.Equal(t, []string{"testuser1/mobile-otp", "testuser2/mobile-otp"}, used)
			ss, err := w.eng(t).Sessions(w.ctx, "testuser1")
			require.NoError(t, err)
			assert.Empty(t, ss, "the sessions of the deleted group end")
		}},
		{659, "group-add-child-session-imap-smtp", func(t *testing.T) {
			must(t, w.objs().AddChildSession(w.ctx, "imap", "smtp"))
		}},
		{660, "group-enable-sessions-imap", func(t *testing.T) { must(t, w.objs().SetGroupSessions(w.ctx, "imap", true)) }},
		{662, "group-show", func(t *testing.T) {
			assert.Equal(t, []string{
				"imap Enabled - 5 Enabled smtp False 0 30 5",
				"smtp Enabled - 5 Disabled - False 0 30 5",
				"wlan Enabled - 5 Disabled - False 0 30 5",
			}, w.groupRows(t))
		}},
		{671, "token-gen-484af2", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "484af2") }},
		{674, "verify-token-missing-imap", func(t *testing.T) {
			w.auth(t, "testuser1", "484af2", "cyrus-imap", want{code: otpme.AuthTokenMissing, group: "imap", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'cyrus-imap' exists.
DEBUG: Got access group 'imap' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'imap'.
WARNING: Unable to find a token to verify this request.
DEBUG: Counting failed login for this request.
WARNING: AUTH_TOKEN_MISSING: user=testuser1 token= access_group=imap client=cyrus-imap client_ip= auth_type=clear-text session=`})
		}},
		{688, "token-add-group-testuser1-imap", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser1", "mobile-otp", "imap"))
		}},
		{689, "token-add-group-testuser2-imap", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser2", "mobile-otp", "imap"))
		}},
		{691, "verify-otp-imap-child-session", func(t *testing.T) {
			w.auth(t, "testuser1", "484af2", "cyrus-imap", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "imap", session: "new:6633037d", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'cyrus-imap' exists.
DEBUG: Got access group 'imap' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'imap'.
DEBUG: Selecting token 'mobile-otp' based on access group 'imap'.
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.
DEBUG: Adding OTP from this session to used OTPs of the user.
INFO: Resetting login fail count for 'testuser1/imap' from '1' to '0'.
DEBUG: adding parent session 'testuser1:imap:clear-text:6633037dff96c241dd76dfd447ebe46a'
DEBUG: adding child session 'testuser1:smtp:clear-text:1ecd0b333c64aa63822f71916799526a'.
INFO: AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group=imap client=cyrus-imap client_ip= auth_type=clear-text session=new:6633037dff96c241dd76dfd447ebe46a`})
			w.recordSession(t, "testuser1", "smtp", "1ecd0b33")
		}},
		{714, "verify-session-no-valid-group", func(t *testing.T) {
			w.auth(t, "testuser1", "484af2", "postfix", want{code: otpme.AuthSessionNoValidGroup, group: "smtp", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'postfix' exists.
DEBUG: Got access group 'smtp' from client config.
DEBUG: Session creation for access group 'smtp' is disabled. Verification of parent sessions will still be done.
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:smtp:clear-text:1ecd0b333c64aa63822f71916799526a'.
DEBUG: Authentication parameters of request matching session 'testuser1:smtp:clear-text:1ecd0b333c64aa63822f71916799526a'.
DEBUG: Token 'mobile-otp' used at session login is a token of user 'testuser1'.
DEBUG: Verifying if access group 'smtp' is in access_groups of token 'mobile-otp'.
DEBUG: Access group 'smtp' is NOT in token access groups. Verifying parent groups.
WARNING: Session verification failed because access group 'smtp' and none of its parents are in token access groups (and enabled).
DEBUG: Counting failed login for this request.
WARNING: AUTH_SESSION_NO_VALID_GROUP: user=testuser1 token= access_group=smtp client=postfix client_ip= auth_type=clear-text session=`})
		}},
		{734, "group-add-child-group-imap-smtp", func(t *testing.T) {
			must(t, w.objs().AddChildGroup(w.ctx, "imap", "smtp"))
		}},
		{736, "group-show", func(t *testing.T) {
			assert.Equal(t, "imap Enabled smtp 5 Enabled smtp False 0 30 5", w.groupRows(t)[0])
		}},
		{745, "verify-session-via-parent-imap", func(t *testing.T) {
			w.auth(t, "testuser1", "484af2", "postfix", want{code: otpme.AuthOKSession, token: "mobile-otp", group: "smtp", session: "1ecd0b33", exact: true,
				guide: smtpViaParent("imap") + `
INFO: Resetting login fail count for 'testuser1/smtp' from '1' to '0'.
INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp access_group=smtp client=postfix client_ip= auth_type=clear-text session=1ecd0b333c64aa63822f71916799526a`})
		}},
		{771, "user-add-spam", func(t *testing.T) { must(t, w.objs().AddUser(w.ctx, "spam")) }},
		{773, "token-add-spam-imap-pass", func(t *testing.T) {
			pw, err := w.objs().AddPasswordToken(w.ctx, "spam", "imap-pass")
			require.NoError(t, err)
			w.secrets["ieteijefohkeecai"] = pw
		}},
		{778, "token-add-group-imap-pass-imap", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "spam", "imap-pass", "imap"))
		}},
		{780, "verify-spam-imap", func(t *testing.T) {
			w.auth(t, "spam", "ieteijefohkeecai", "cyrus-imap", want{code: otpme.AuthOKStatic, token: "imap-pass", group: "imap", exact: true, guide: spamStatic})
		}},
		{797, "verify-spam-smtp-via-parent", func(t *testing.T) {
			w.auth(t, "spam", "ieteijefohkeecai", "postfix", want{code: otpme.AuthOKStatic, token: "imap-pass", group: "smtp", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'postfix' exists.
DEBUG: Got access group 'smtp' from client config.
DEBUG: Session creation for access group 'smtp' is disabled. Verification of parent sessions will still be done.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'smtp'.
DEBUG: Selecting token 'imap-pass' based on parent access group 'imap'.
DEBUG: Will try the following static password tokens to verify this request: imap-pass
DEBUG: Verifying static password tokens...
DEBUG: Verifying token 'imap-pass'.
DEBUG: Token 'imap-pass' verified successful.
INFO: AUTH_OK_STATIC: user=spam token=imap-pass access_group=smtp client=postfix client_ip= auth_type=clear-text session=`})
		}},
	}
}

// walkChildGroups: webmail as the parent of imap and smtp, so that spam
// (imap only) cannot send; a login through postfix first.
func walkChildGroups(w *walk) []Step {
	return []Step{
		{819, "group-add-webmail", func(t *testing.T) { must(t, w.objs().AddGroup(w.ctx, "webmail")) }},
		{820, "group-add-child-group-webmail-imap", func(t *testing.T) { must(t, w.objs().AddChildGroup(w.ctx, "webmail", "imap")) }},
		{821, "group-add-child-group-webmail-smtp", func(t *testing.T) { must(t, w.objs().AddChildGroup(w.ctx, "webmail", "smtp")) }},
		{825, "group-remove-child-group-imap-smtp", func(t *testing.T) {
			must(t, w.objs().RemoveChildGroup(w.ctx, "imap", "smtp"))
			assert.Equal(t, []string{"imap"}, w.sessionGroups(t, "testuser1"), "the smtp session lost its ground and ended")
		}},
		{829, "token-add-group-testuser1-webmail", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser1", "mobile-otp", "webmail"))
		}},
		{830, "token-add-group-testuser2-webmail", func(t *testing.T) {
			must(t, w.objs().TokenAddGroup(w.ctx, "testuser2", "mobile-otp", "webmail"))
		}},
		{834, "token-remove-group-testuser1-imap", func(t *testing.T) {
			must(t, w.objs().TokenRemoveGroup(w.ctx, "testuser1", "mobile-otp", "imap"))
			assert.Equal(t, []string{"imap"}, w.sessionGroups(t, "testuser1"), "imap is still held through its parent webmail")
		}},
		{835, "token-remove-group-testuser2-imap", func(t *testing.T) {
			must(t, w.objs().TokenRemoveGroup(w.ctx, "testuser2", "mobile-otp", "imap"))
		}},
		{839, "token-gen-7be894", func(t *testing.T) {
			w.clock.Advance(6 * time.Minute) // the imap session ends unused (5 min)
			w.gen(t, "testuser1", "mobile-otp", "7be894")
		}},
		{842, "verify-otp-imap-via-parent", func(t *testing.T) {
			w.auth(t, "testuser1", "7be894", "cyrus-imap", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "imap", session: "new:bddb56ee", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'cyrus-imap' exists.
DEBUG: Got access group 'imap' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: Session 'testuser1:imap:clear-text:6633037dff96c241dd76dfd447ebe46a' is expired by unused session timeout. Removing...
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'imap'.
DEBUG: Selecting token 'mobile-otp' based on parent access group 'webmail'.
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.
DEBUG: Adding OTP from this session to used OTPs of the user.
DEBUG: adding parent session 'testuser1:imap:clear-text:bddb56ee5d71eec1e1016bd3e07bed3a'
DEBUG: adding child session 'testuser1:smtp:clear-text:b2412b4c686f60d98fe36d63856ff42f'.
INFO: AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group=imap client=cyrus-imap client_ip= auth_type=clear-text session=new:bddb56ee5d71eec1e1016bd3e07bed3a`})
			w.recordSession(t, "testuser1", "smtp", "b2412b4c")
		}},
		{862, "verify-session-smtp-via-webmail", func(t *testing.T) {
			w.auth(t, "testuser1", "7be894", "postfix", want{code: otpme.AuthOKSession, token: "mobile-otp", group: "smtp", session: "b2412b4c", exact: true,
				guide: smtpViaParent("webmail") + `
INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp access_group=smtp client=postfix client_ip= auth_type=clear-text session=b2412b4c686f60d98fe36d63856ff42f`})
		}},
		{880, "verify-spam-imap", func(t *testing.T) {
			w.auth(t, "spam", "ieteijefohkeecai", "cyrus-imap", want{code: otpme.AuthOKStatic, token: "imap-pass", group: "imap", exact: true, guide: spamStatic})
		}},
		{895, "verify-spam-smtp-refused", func(t *testing.T) {
			w.auth(t, "spam", "ieteijefohkeecai", "postfix", want{code: otpme.AuthTokenMissing, group: "smtp", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'postfix' exists.
DEBUG: Got access group 'smtp' from client config.
DEBUG: Session creation for access group 'smtp' is disabled. Verification of parent sessions will still be done.
DEBUG: Doing clear-text session verification.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'smtp'.
WARNING: Unable to find a token to verify this request.
DEBUG: Counting failed login for this request.
WARNING: AUTH_TOKEN_MISSING: user=spam token= access_group=smtp client=postfix client_ip= auth_type=clear-text session=`})
		}},
		{914, "token-gen-2e6147", func(t *testing.T) { w.gen(t, "testuser1", "mobile-otp", "2e6147") }},
		// smtp has sessions off: no session (the guide's event shows a
		// "new:" ID nonetheless).
		{917, "verify-otp-postfix-first", func(t *testing.T) {
			w.auth(t, "testuser1", "2e6147", "postfix", want{code: otpme.AuthOKOTP, token: "mobile-otp", group: "smtp", guide: `
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:smtp:clear-text:b2412b4c686f60d98fe36d63856ff42f'.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'smtp'.
DEBUG: Selecting token 'mobile-otp' based on parent access group 'webmail'.
DEBUG: Token 'mobile-otp' verified successful.
DEBUG: Adding OTP from this session to used OTPs of the user.`})
		}},
		{936, "verify-otp-imap-already-used", func(t *testing.T) {
			w.auth(t, "testuser1", "2e6147", "cyrus-imap", want{code: otpme.AuthOTPAlreadyUsed, token: "mobile-otp", group: "imap", exact: true, guide: `
DEBUG: Processing clear-text authentication request.
DEBUG: Client 'cyrus-imap' exists.
DEBUG: Got access group 'imap' from client config.
DEBUG: Doing clear-text session verification.
DEBUG: Verifying session 'testuser1:imap:clear-text:bddb56ee5d71eec1e1016bd3e07bed3a'.
DEBUG: No session found for this request.
DEBUG: Selecting user tokens based on access_group 'imap'.
DEBUG: Selecting token 'mobile-otp' based on parent access group 'webmail'.
DEBUG: Will try the following otp tokens to verify this request: mobile-otp
DEBUG: Verifying static password tokens...
DEBUG: Verifying otp tokens...
DEBUG: Verifying token 'mobile-otp'.
DEBUG: Token 'mobile-otp' verified successful.
WARNING: OTP from this request was already used. Authentication will fail.
DEBUG: Counting failed login for this request.
WARNING: AUTH_OTP_ALREADY_USED: user=testuser1 token=mobile-otp access_group=imap client=cyrus-imap client_ip= auth_type=clear-text session=`})
		}},
	}
}
