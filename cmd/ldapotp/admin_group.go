package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// groupVerbs are "otpme-group"'s verbs.
func groupVerbs() []verb {
	pair := func(f func(*otpme.MemObjects, context.Context, string, string) error) func(*admin, []string) error {
		return editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return f(m, ctx, a[0], a[1]) })
	}
	flag := func(f func(*otpme.MemObjects, context.Context, string, bool) error, on bool) func(*admin, []string) error {
		return editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return f(m, ctx, a[0], on) })
	}
	return []verb{
		{name: "add", args: "NAME", min: 1, max: 1, help: "add an access group",
			run: editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return m.AddGroup(ctx, a[0]) })},
		{name: "del", args: "NAME", min: 1, max: 1, help: "delete an access group (asks if it is used)", run: groupDel},
		{name: "show", args: "[NAME]", max: 1, help: "list access groups", run: groupShow},
		{name: "rename", args: "OLD NEW", min: 2, max: 2, help: "rename an access group (references follow)", run: pair((*otpme.MemObjects).RenameGroup)},
		{name: "enable", args: "NAME", min: 1, max: 1, help: "enable an access group", run: flag((*otpme.MemObjects).SetGroupEnabled, true)},
		{name: "disable", args: "NAME", min: 1, max: 1, help: "disable an access group", run: flag((*otpme.MemObjects).SetGroupEnabled, false)},
		{name: "add_child_group", args: "PARENT CHILD", min: 2, max: 2, help: "tokens of PARENT may be used for CHILD", run: pair((*otpme.MemObjects).AddChildGroup)},
		{name: "remove_child_group", args: "PARENT CHILD", min: 2, max: 2, help: "end a child-group relation", run: pair((*otpme.MemObjects).RemoveChildGroup)},
		{name: "add_child_session", args: "PARENT CHILD", min: 2, max: 2, help: "a login in PARENT opens a CHILD session too", run: pair((*otpme.MemObjects).AddChildSession)},
		{name: "remove_child_session", args: "PARENT CHILD", min: 2, max: 2, help: "stop opening CHILD sessions", run: pair((*otpme.MemObjects).RemoveChildSession)},
		{name: "enable_sessions", args: "NAME", min: 1, max: 1, help: "one-time logins open sessions", run: flag((*otpme.MemObjects).SetGroupSessions, true)},
		{name: "disable_sessions", args: "NAME", min: 1, max: 1, help: "no sessions", run: flag((*otpme.MemObjects).SetGroupSessions, false)},
		{name: "enable_session_master", args: "NAME", min: 1, max: 1, help: "child-session logins open this group's session", run: flag((*otpme.MemObjects).SetSessionMaster, true)},
		{name: "disable_session_master", args: "NAME", min: 1, max: 1, help: "not a session master", run: flag((*otpme.MemObjects).SetSessionMaster, false)},
		{name: "max_login", args: "NAME N", min: 2, max: 2, help: "logins a session allows (0: unlimited)",
			run: editInt(func(ctx context.Context, m *otpme.MemObjects, n string, v int) error { return m.SetMaxLogin(ctx, n, v) })},
		{name: "max_fail", args: "NAME N", min: 2, max: 2, help: "failed logins before the user is locked for the group",
			run: editInt(func(ctx context.Context, m *otpme.MemObjects, n string, v int) error {
				return m.SetGroupMaxFail(ctx, n, v)
			})},
		{name: "timeout", args: "NAME MINUTES", min: 2, max: 2, help: "sessions end this long after they opened",
			run: editMinutes((*otpme.MemObjects).SetTimeout)},
		{name: "unused_timeout", args: "NAME MINUTES", min: 2, max: 2, help: "sessions end when unused this long",
			run: editMinutes((*otpme.MemObjects).SetUnusedTimeout)},
		{name: "description", args: "NAME TEXT", min: 2, max: 2, help: "set the description", run: pair((*otpme.MemObjects).SetGroupDescription)},
	}
}

// editMinutes is a verb "NAME MINUTES" (the guide's unit), or a Go
// duration such as 90s.
func editMinutes(f func(*otpme.MemObjects, context.Context, string, time.Duration) error) func(*admin, []string) error {
	return func(a *admin, args []string) error {
		d, err := parseMinutes(args[1])
		if err != nil {
			return err
		}
		return a.edit(func(m *otpme.MemObjects) error { return f(m, a.ctx, args[0], d) })
	}
}

// parseMinutes reads whole minutes or a Go duration.
func parseMinutes(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Minute, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, usagef("%q: want minutes (a whole number above 0) or a duration such as 90s", s)
}

// groupRefs returns what refers to the group name: tokens (user/token),
// clients and groups (as parent of a child group or child session).
func groupRefs(snap otpme.Snapshot, name string) (toks, clients, groups []string) {
	for _, t := range snap.Tokens {
		if t.HasGroup(name) {
			toks = append(toks, t.User+"/"+t.Name)
		}
	}
	for _, c := range snap.Clients {
		if c.AccessGroup == name {
			clients = append(clients, c.Name)
		}
	}
	for _, g := range snap.Groups {
		if slices.Contains(g.Children, name) || slices.Contains(g.ChildSessions, name) {
			groups = append(groups, g.Name)
		}
	}
	return toks, clients, groups
}

// groupDel deletes an access group, asking first if others refer to it.
func groupDel(a *admin, args []string) error {
	name := args[0]
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(snap.Groups, func(g otpme.Group) bool { return g.Name == name }) {
		return fmt.Errorf("access group %q: %w", name, otpme.ErrNotFound)
	}
	toks, clients, groups := groupRefs(snap, name)
	var used []string
	for _, r := range []struct {
		what  string
		names []string
	}{{"tokens", toks}, {"clients", clients}, {"groups", groups}} {
		if len(r.names) > 0 {
			used = append(used, fmt.Sprintf("Group '%s' is used by this %s: %s", name, r.what, strings.Join(r.names, ", ")))
		}
	}
	if len(used) > 0 {
		if err := a.confirm(strings.Join(used, "\n"), "Delete group "+name+"?"); err != nil {
			return err
		}
	}
	return a.edit(func(m *otpme.MemObjects) error {
		_, err := m.DelGroup(a.ctx, name)
		return err
	})
}

// groupShow prints the group table.
func groupShow(a *admin, args []string) error {
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	gs := snap.Groups
	if len(args) == 1 {
		gs = slices.DeleteFunc(gs, func(g otpme.Group) bool { return g.Name != args[0] })
		if len(gs) == 0 {
			return fmt.Errorf("access group %q: %w", args[0], otpme.ErrNotFound)
		}
	}
	if a.g.json {
		js := []groupJSON{}
		for _, g := range gs {
			js = append(js, toGroupJSON(g))
		}
		return writeJSON(a.out, js)
	}
	groupTable(gs).write(a.out, "")
	return nil
}
