package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ldapotp/ldapotp/otpme"
)

// table is one of the guide's show tables: a header, a rule, rows.
type table struct {
	head []string
	rows [][]string
}

// write prints t with each column as wide as its widest cell, two spaces
// between columns, prefix before every line.
func (t table) write(w io.Writer, prefix string) {
	widths := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string) string {
		var b strings.Builder
		for i, c := range r {
			if i < len(r)-1 {
				fmt.Fprintf(&b, "%-*s  ", widths[i], c)
			} else {
				b.WriteString(c)
			}
		}
		return prefix + strings.TrimRight(b.String(), " ") + "\n"
	}
	total := 0
	for _, w := range widths {
		total += w + 2
	}
	fmt.Fprint(w, line(t.head))
	fmt.Fprint(w, prefix+strings.Repeat("-", max(total-2, 10))+"\n")
	for _, r := range t.rows {
		fmt.Fprint(w, line(r))
	}
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// onOff is the guide's Enabled/Disabled.
func onOff(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

// minutes shows a duration in whole minutes, as the guide's group table.
func minutes(d time.Duration) string { return fmt.Sprint(int(d / time.Minute)) }

// clock shows a session time as the guide does (local time of day); zero
// is "-".
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("15:04:05")
}

// userTable is "otpme-user show".
func userTable(users []otpme.User, fails map[string]int) table {
	t := table{head: []string{"user name", "status", "sessions", "fails", "max", "description"}}
	for _, u := range users {
		t.rows = append(t.rows, []string{u.Name, onOff(u.Enabled), onOff(u.Sessions),
			fmt.Sprint(fails[u.Name]), fmt.Sprint(u.MaxFail), u.Description})
	}
	return t
}

// tokenTable is the token list of "otpme-user show NAME".
func tokenTable(toks []otpme.Token) table {
	t := table{head: []string{"token name", "token type", "status", "access groups", "description"}}
	for _, k := range toks {
		t.rows = append(t.rows, []string{k.Name, string(k.Type), onOff(k.Enabled), strings.Join(k.Groups, ","), k.Description})
	}
	return t
}

// userInfo is "otpme-user show NAME".
func userInfo(w io.Writer, u otpme.User, st otpme.Status, toks []otpme.Token) {
	status := "active"
	if st.Locked {
		status = "locked!!!"
	}
	field := func(name, value string) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("        %-13s %s", name+":", value), " "))
	}
	fmt.Fprintln(w, "user info:")
	field("status", fmt.Sprintf("%s (%d failed logins)", status, st.Fails))
	field("sessions", onOff(u.Sessions))
	field("max_fail", fmt.Sprint(u.MaxFail))
	field("bind_dn", u.BindDN)
	field("description", u.Description)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "user tokens:")
	tokenTable(toks).write(w, "        ")
}

// groupTable is "otpme-group show".
func groupTable(gs []otpme.Group) table {
	t := table{head: []string{"group name", "status", "child groups", "max_fail", "sessions", "child sessions",
		"master", "max_login", "timeout", "utimeout", "description"}}
	for _, g := range gs {
		master := "False"
		if g.SessionMaster {
			master = "True"
		}
		t.rows = append(t.rows, []string{g.Name, onOff(g.Enabled), strings.Join(g.Children, ","),
			fmt.Sprint(g.MaxFail), onOff(g.Sessions), strings.Join(g.ChildSessions, ","), master,
			fmt.Sprint(g.MaxLogin), minutes(g.Timeout), minutes(g.UnusedTimeout), g.Description})
	}
	return t
}

// clientTable is "otpme-client show".
func clientTable(cs []otpme.Client) table {
	t := table{head: []string{"client name", "status", "tp_check", "access group", "addresses", "description"}}
	for _, c := range cs {
		addrs := make([]string, len(c.Addresses))
		for i, p := range c.Addresses {
			addrs[i] = p.String()
		}
		t.rows = append(t.rows, []string{c.Name, onOff(c.Enabled), onOff(c.TrustCheck), c.AccessGroup,
			strings.Join(addrs, ","), c.Description})
	}
	return t
}

// sessionTable is "otpme-session show".
func sessionTable(ss []otpme.SessionInfo) table {
	t := table{head: []string{"session id", "user", "token", "type", "access group", "client", "client_ip",
		"last login", "expire", "unused exp."}}
	for _, s := range ss {
		t.rows = append(t.rows, []string{s.ID, s.User, s.Token, s.AuthType, s.AccessGroup, s.Client, s.ClientIP,
			clock(s.LastLogin), clock(s.Expires), clock(s.UnusedExpires)})
	}
	return t
}
