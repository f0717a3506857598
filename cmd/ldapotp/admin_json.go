package main

import (
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// The --json forms of the show tables. They are views, never the otpme
// types themselves, so that no secret (mOTP secret and PIN, client secret,
// password hash) can reach the output.

type userJSON struct {
	Name        string      `json:"name"`
	Enabled     bool        `json:"enabled"`
	Sessions    bool        `json:"sessions"`
	Fails       int         `json:"fails"`
	Locked      bool        `json:"locked"`
	MaxFail     int         `json:"max_fail"`
	BindDN      string      `json:"bind_dn,omitempty"`
	Description string      `json:"description,omitempty"`
	Tokens      []tokenJSON `json:"tokens,omitempty"`
}

type tokenJSON struct {
	User        string   `json:"user"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Enabled     bool     `json:"enabled"`
	Groups      []string `json:"access_groups"`
	DN          string   `json:"dn,omitempty"`
	Description string   `json:"description,omitempty"`
}

type groupJSON struct {
	Name           string   `json:"name"`
	Enabled        bool     `json:"enabled"`
	Children       []string `json:"child_groups"`
	MaxFail        int      `json:"max_fail"`
	Sessions       bool     `json:"sessions"`
	ChildSessions  []string `json:"child_sessions"`
	SessionMaster  bool     `json:"session_master"`
	MaxLogin       int      `json:"max_login"`
	TimeoutMin     int      `json:"timeout_minutes"`
	UnusedTimeoutM int      `json:"unused_timeout_minutes"`
	Description    string   `json:"description,omitempty"`
}

type clientJSON struct {
	Name        string   `json:"name"`
	Enabled     bool     `json:"enabled"`
	TrustCheck  bool     `json:"tp_check"`
	HasSecret   bool     `json:"has_secret"`
	AccessGroup string   `json:"access_group"`
	Addresses   []string `json:"addresses"`
	Description string   `json:"description,omitempty"`
}

type sessionJSON struct {
	ID            string     `json:"id"`
	User          string     `json:"user"`
	Token         string     `json:"token"`
	AuthType      string     `json:"type"`
	AccessGroup   string     `json:"access_group"`
	Client        string     `json:"client"`
	ClientIP      string     `json:"client_ip"`
	LastLogin     time.Time  `json:"last_login"`
	Expires       *time.Time `json:"expires,omitempty"`
	UnusedExpires *time.Time `json:"unused_expires,omitempty"`
	Logins        int        `json:"logins"`
	MaxLogin      int        `json:"max_login"`
}

func toUserJSON(u otpme.User, st otpme.Status, toks []otpme.Token) userJSON {
	j := userJSON{Name: u.Name, Enabled: u.Enabled, Sessions: u.Sessions, Fails: st.Fails, Locked: st.Locked,
		MaxFail: u.MaxFail, BindDN: u.BindDN, Description: u.Description}
	for _, t := range toks {
		j.Tokens = append(j.Tokens, toTokenJSON(t))
	}
	return j
}

func toTokenJSON(t otpme.Token) tokenJSON {
	return tokenJSON{User: t.User, Name: t.Name, Type: string(t.Type), Enabled: t.Enabled,
		Groups: nonNil(t.Groups), DN: t.DN, Description: t.Description}
}

func toGroupJSON(g otpme.Group) groupJSON {
	return groupJSON{Name: g.Name, Enabled: g.Enabled, Children: nonNil(g.Children), MaxFail: g.MaxFail,
		Sessions: g.Sessions, ChildSessions: nonNil(g.ChildSessions), SessionMaster: g.SessionMaster,
		MaxLogin: g.MaxLogin, TimeoutMin: int(g.Timeout / time.Minute),
		UnusedTimeoutM: int(g.UnusedTimeout / time.Minute), Description: g.Description}
}

func toClientJSON(c otpme.Client) clientJSON {
	j := clientJSON{Name: c.Name, Enabled: c.Enabled, TrustCheck: c.TrustCheck, HasSecret: len(c.Secret) > 0,
		AccessGroup: c.AccessGroup, Addresses: []string{}, Description: c.Description}
	for _, p := range c.Addresses {
		j.Addresses = append(j.Addresses, p.String())
	}
	return j
}

func toSessionJSON(s otpme.SessionInfo) sessionJSON {
	j := sessionJSON{ID: s.ID, User: s.User, Token: s.Token, AuthType: s.AuthType, AccessGroup: s.AccessGroup,
		Client: s.Client, ClientIP: s.ClientIP, LastLogin: s.LastLogin, Logins: s.Logins, MaxLogin: s.MaxLogin}
	if !s.Expires.IsZero() {
		j.Expires = &s.Expires
	}
	if !s.UnusedExpires.IsZero() {
		j.UnusedExpires = &s.UnusedExpires
	}
	return j
}

// nonNil makes an empty list print as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
