package guidetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The guide's show tables, one string per row.

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
	us, err := w.objs().Users(w.ctx)
	require.NoError(t, err)
	rows := []string{}
	for _, u := range us {
		st, err := w.eng(t).Status(w.ctx, u.Name, "")
		require.NoError(t, err)
		rows = append(rows, fmt.Sprintf("%s %s %s %d %d", u.Name, onOff(u.Enabled), onOff(u.Sessions), st.Fails, u.MaxFail))
	}
	return rows
}

// userInfo is "otpme-user show NAME": status, sessions, max_fail, then
// one row per token: name type status access-groups.
func (w *walk) userInfo(t *testing.T, name string) []string {
	u, err := w.objs().User(w.ctx, name)
	require.NoError(t, err)
	st, err := w.eng(t).Status(w.ctx, name, "")
	require.NoError(t, err)
	status := "active"
	if st.Locked {
		status = "locked!!!"
	}
	rows := []string{fmt.Sprintf("status: %s (%d failed logins)", status, st.Fails),
		"sessions: " + onOff(u.Sessions), fmt.Sprintf("max_fail: %d", u.MaxFail)}
	toks, err := w.objs().Tokens(w.ctx, name)
	require.NoError(t, err)
	for _, tok := range toks {
		rows = append(rows, fmt.Sprintf("%s %s %s %s", tok.Name, tok.Type, onOff(tok.Enabled), list(tok.Groups)))
	}
	return rows
}

// clientRows is "otpme-client show": name status tp_check access-group.
func (w *walk) clientRows(t *testing.T) []string {
	cs, err := w.objs().Clients(w.ctx)
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
	gs, err := w.objs().Groups(w.ctx)
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
