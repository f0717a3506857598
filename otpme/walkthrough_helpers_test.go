package otpme_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// walk drives the OTPme guide (seeds/000_531bf71bd1273e62.txt, "OTPme
// Step-by-Step Guide") through MemObjects and an Engine. Guide values
// (passwords, codes, SLP, CTP, session IDs) are labels; ours are random
// or computed at the fake clock.
type walk struct {
	*env
	secrets  map[string]otpme.Secret // guide label → our value
	sessions map[string]string       // guide label → our session ID
	times    map[string]time.Time    // named instants
}

func newWalk(t *testing.T) *walk {
	return &walk{
		env:      newEnv(t, func(c *otpme.Config) { c.AllowGroupMissing = true }),
		secrets:  map[string]otpme.Secret{},
		sessions: map[string]string{},
		times:    map[string]time.Time{},
	}
}

// setEngine replaces the engine (the guide edits otpme.conf), keeping
// objects, store and clock.
func (w *walk) setEngine(t *testing.T, allowGroupMissing bool) {
	var err error
	w.eng, err = otpme.New(otpme.Config{Objects: w.objs, Store: w.store, Key: testKey,
		Now: w.clock.Now, AllowGroupMissing: allowGroupMissing})
	require.NoError(t, err)
	w.objs.SetRevoker(w.eng)
}

// gen is "otpme-token gen user/token": the clock moves 30 s on (three
// mOTP steps) and the code is kept under the guide's label.
func (w *walk) gen(t *testing.T, user, token, label string) {
	t.Helper()
	w.clock.Advance(30 * time.Second)
	code := w.motp(t, user, token)
	for l, c := range w.secrets {
		require.NotEqual(t, string(c), string(code), "code %s repeats %s", label, l)
	}
	w.secrets[label] = code
}

// secret returns the value of a guide label, or the label itself (a
// literal password of the guide).
func (w *walk) secret(label string) otpme.Secret {
	if s, ok := w.secrets[label]; ok {
		return s
	}
	return otpme.Secret(label)
}

// want is what a guide verification shows.
type want struct {
	code    otpme.EventCode
	token   string
	group   string
	session string // "", "new:<label>" (a new session, recorded), "<label>" (a recorded one)
	guide   string // the guide's -d lines that must appear, in order
	exact   bool   // the trace is exactly guide (event line included)
}

var newSession = regexp.MustCompile(`^new:[0-9a-f]{32}$`)

// auth is "otpme-auth -d verify user password [client]".
func (w *walk) auth(t *testing.T, user, pw, client string, wt want) otpme.Result {
	t.Helper()
	r := w.verify(t, user, w.secret(pw), client)
	assert.Equal(t, wt.code.OK(), r.OK, "Accept/Reject")
	assert.Equal(t, wt.code, r.Event.Code)
	assert.Equal(t, []string{user, wt.token, wt.group, client, "", otpme.AuthClearText},
		[]string{r.Event.User, r.Event.Token, r.Event.AccessGroup, r.Event.Client, r.Event.ClientIP, r.Event.AuthType},
		"event fields user, token, access_group, client, client_ip, auth_type")
	w.checkSession(t, r.Event.Session, wt.session)
	switch {
	case wt.exact:
		assert.Equal(t, normTrace(strings.Split(wt.guide, "\n")), normTrace(r.Trace))
	case wt.guide != "":
		if missing := followsGuide(r.Trace, wt.guide); missing != "" {
			t.Errorf("trace lacks the guide's line %q; trace:\n%s", missing, strings.Join(r.Trace, "\n"))
		}
	}
	return r
}

func (w *walk) checkSession(t *testing.T, got, wantLabel string) {
	t.Helper()
	switch {
	case wantLabel == "":
		assert.Empty(t, got, "session")
	case strings.HasPrefix(wantLabel, "new:"):
		if assert.Regexp(t, newSession, got) {
			w.sessions[strings.TrimPrefix(wantLabel, "new:")] = strings.TrimPrefix(got, "new:")
		}
	default:
		assert.Equal(t, w.sessions[wantLabel], got, "session %s", wantLabel)
	}
}

// recordSession labels the newest session of user in group.
func (w *walk) recordSession(t *testing.T, user, group, label string) {
	t.Helper()
	ss, err := w.eng.Sessions(w.ctx, user)
	require.NoError(t, err)
	for _, s := range ss {
		if s.AccessGroup == group && s.LastLogin.Equal(w.clock.Now()) {
			w.sessions[label] = s.ID
			return
		}
	}
	t.Fatalf("no new session of %s in %s", user, group)
}

func onOff(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// userRows is "otpme-user show": name status sessions fails max.
func (w *walk) userRows(t *testing.T) []string {
	us, err := w.objs.Users(w.ctx)
	require.NoError(t, err)
	rows := []string{}
	for _, u := range us {
		st, err := w.eng.Status(w.ctx, u.Name, "")
		require.NoError(t, err)
		rows = append(rows, fmt.Sprintf("%s %s %s %d %d", u.Name, onOff(u.Enabled), onOff(u.Sessions), st.Fails, u.MaxFail))
	}
	return rows
}

// userInfo is "otpme-user show NAME": status, sessions, max_fail, then
// one row per token: name type status access-groups.
func (w *walk) userInfo(t *testing.T, name string) []string {
	u, err := w.objs.User(w.ctx, name)
	require.NoError(t, err)
	st, err := w.eng.Status(w.ctx, name, "")
	require.NoError(t, err)
	status := "active"
	if st.Locked {
		status = "locked!!!"
	}
	rows := []string{fmt.Sprintf("status: %s (%d failed logins)", status, st.Fails),
		"sessions: " + onOff(u.Sessions), fmt.Sprintf("max_fail: %d", u.MaxFail)}
	toks, err := w.objs.Tokens(w.ctx, name)
	require.NoError(t, err)
	for _, tok := range toks {
		rows = append(rows, fmt.Sprintf("%s %s %s %s", tok.Name, tok.Type, onOff(tok.Enabled), list(tok.Groups)))
	}
	return rows
}

// clientRows is "otpme-client show": name status tp_check access-group.
func (w *walk) clientRows(t *testing.T) []string {
	cs, err := w.objs.Clients(w.ctx)
	require.NoError(t, err)
	var rows []string
	for _, c := range cs {
		g := c.AccessGroup
		if g == "" {
			g = "-"
		}
		rows = append(rows, fmt.Sprintf("%s %s %s %s", c.Name, onOff(c.Enabled), onOff(c.TrustCheck), g))
	}
	return rows
}

// groupRows is "otpme-group show": name status child-groups max_fail
// sessions child-sessions master max_login timeout utimeout (minutes).
func (w *walk) groupRows(t *testing.T) []string {
	gs, err := w.objs.Groups(w.ctx)
	require.NoError(t, err)
	var rows []string
	for _, g := range gs {
		master := "False"
		if g.SessionMaster {
			master = "True"
		}
		rows = append(rows, fmt.Sprintf("%s %s %s %d %s %s %s %d %d %d", g.Name, onOff(g.Enabled), list(g.Children),
			g.MaxFail, onOff(g.Sessions), list(g.ChildSessions), master, g.MaxLogin,
			int(g.Timeout/time.Minute), int(g.UnusedTimeout/time.Minute)))
	}
	return rows
}
