package guidetest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// walk drives the guide through a Backend. Guide values (passwords,
// codes, SLP, CTP, session IDs) are labels; ours are random or computed at
// the fake clock.
type walk struct {
	b        Backend
	ctx      context.Context
	clock    *Clock
	secrets  map[string]otpme.Secret // guide label → our value
	sessions map[string]string       // guide label → our session ID
	times    map[string]time.Time    // named instants
}

func newWalk(b Backend) *walk {
	return &walk{
		b:        b,
		ctx:      context.Background(),
		clock:    b.Clock(),
		secrets:  map[string]otpme.Secret{},
		sessions: map[string]string{},
		times:    map[string]time.Time{},
	}
}

// objs is where the admin commands act. The walk asks the backend at each
// use: a backend may hand out a new MemObjects (holding the same objects)
// after each verification.
func (w *walk) objs() *otpme.MemObjects { return w.b.Objects() }

// eng is the backend's engine for show commands and tools.
func (w *walk) eng(t *testing.T) *otpme.Engine { return w.b.Engine(t) }

// gen is "otpme-token gen user/token": the clock moves 30 s on (three
// mOTP steps) and the code is kept under the guide's label.
func (w *walk) gen(t *testing.T, user, token, label string) {
	t.Helper()
	w.clock.Advance(30 * time.Second)
	tok, err := w.objs().Token(w.ctx, user, token)
	require.NoError(t, err)
	code := otpme.Secret(otpme.MOTPCode(tok.Secret, tok.PIN, w.clock.Now()))
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

// auth is "otpme-auth -d verify user password [client]". The guide's
// event lines show client_ip empty; they are compared with the backend's
// ClientIP filled in.
func (w *walk) auth(t *testing.T, user, pw, client string, wt want) otpme.Result {
	t.Helper()
	r := w.b.Verify(t, user, w.secret(pw), client)
	ip := w.b.ClientIP(client)
	assert.Equal(t, wt.code.OK(), r.OK, "Accept/Reject")
	assert.Equal(t, wt.code, r.Event.Code)
	assert.Equal(t, []string{user, wt.token, wt.group, client, ip, otpme.AuthClearText},
		[]string{r.Event.User, r.Event.Token, r.Event.AccessGroup, r.Event.Client, r.Event.ClientIP, r.Event.AuthType},
		"event fields user, token, access_group, client, client_ip, auth_type")
	w.checkSession(t, r.Event.Session, wt.session)
	guide := strings.ReplaceAll(wt.guide, " client_ip= ", " client_ip="+ip+" ")
	switch {
	case wt.exact:
		assert.Equal(t, normTrace(strings.Split(guide, "\n")), normTrace(r.Trace))
	case guide != "":
		if missing := followsGuide(r.Trace, guide); missing != "" {
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
	ss, err := w.eng(t).Sessions(w.ctx, user)
	require.NoError(t, err)
	for _, s := range ss {
		if s.AccessGroup == group && s.LastLogin.Equal(w.clock.Now()) {
			w.sessions[label] = s.ID
			return
		}
	}
	t.Fatalf("no new session of %s in %s", user, group)
}

// sessionGroups returns the access groups of the user's live sessions.
func (w *walk) sessionGroups(t *testing.T, user string) []string {
	t.Helper()
	ss, err := w.eng(t).Sessions(w.ctx, user)
	require.NoError(t, err)
	var gs []string
	for _, s := range ss {
		gs = append(gs, s.AccessGroup)
	}
	return gs
}

var sessionID = regexp.MustCompile(`[0-9a-f]{32}`)

// normTrace replaces session IDs by "<id>" and drops blank lines and
// leading spaces, so that a guide excerpt compares with a trace.
func normTrace(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, sessionID.ReplaceAllString(l, "<id>"))
		}
	}
	return out
}

// followsGuide reports the first guide line not found, in order, in the
// trace ("" if all are).
func followsGuide(trace []string, guide string) string {
	got := normTrace(trace)
	i := 0
	for _, want := range normTrace(strings.Split(guide, "\n")) {
		for i < len(got) && got[i] != want {
			i++
		}
		if i == len(got) {
			return want
		}
		i++
	}
	return ""
}
