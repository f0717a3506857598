package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ldapotp/ldapotp/otpme"
)

// userVerbs are "otpme-user"'s verbs.
func userVerbs() []verb {
	return []verb{
		{name: "add", args: "NAME", min: 1, max: 1, flags: []string{"bind-dn", "password-file"},
			help: "add a user; creates uid=NAME under the people base if missing", run: userAdd},
		{name: "del", args: "NAME", min: 1, max: 1, flags: []string{"entry"},
			help: "delete a user, its tokens and their OATH entries (--entry: the uid= entry too)", run: userDel},
		{name: "show", args: "[NAME]", max: 1, help: "list users, or one user with its tokens", run: userShow},
		{name: "rename", args: "OLD NEW", min: 2, max: 2, help: "rename a user (tokens, sessions stay)",
			run: editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return m.RenameUser(ctx, a[0], a[1]) })},
		{name: "enable", args: "NAME", min: 1, max: 1, help: "enable a user", run: userFlag((*otpme.MemObjects).SetUserEnabled, true)},
		{name: "disable", args: "NAME", min: 1, max: 1, help: "disable a user (its sessions end)", run: userFlag((*otpme.MemObjects).SetUserEnabled, false)},
		{name: "unlock", args: "NAME", min: 1, max: 1, help: "reset the user's failed logins", run: userUnlock},
		{name: "enable_sessions", args: "NAME", min: 1, max: 1, help: "sessions for logins without access group", run: userFlag((*otpme.MemObjects).SetUserSessions, true)},
		{name: "disable_sessions", args: "NAME", min: 1, max: 1, help: "no sessions without access group", run: userFlag((*otpme.MemObjects).SetUserSessions, false)},
		{name: "max_fail", args: "NAME N", min: 2, max: 2, help: "failed logins before the account locks (0: never)",
			run: editInt(func(ctx context.Context, m *otpme.MemObjects, name string, n int) error {
				return m.SetUserMaxFail(ctx, name, n)
			})},
		{name: "description", args: "NAME TEXT", min: 2, max: 2, help: "set the description",
			run: editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error {
				return m.SetUserDescription(ctx, a[0], a[1])
			})},
		{name: "bind_dn", args: "NAME DN", min: 2, max: 2, help: "set the directory entry the user binds as",
			run: editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error {
				return m.SetUserBindDN(ctx, a[0], a[1])
			})},
	}
}

// editArgs is a verb that is one MemObjects edit of its arguments.
func editArgs(f func(context.Context, *otpme.MemObjects, []string) error) func(*admin, []string) error {
	return func(a *admin, args []string) error {
		return a.edit(func(m *otpme.MemObjects) error { return f(a.ctx, m, args) })
	}
}

// editInt is a verb "NAME N" with a non-negative integer N.
func editInt(f func(context.Context, *otpme.MemObjects, string, int) error) func(*admin, []string) error {
	return func(a *admin, args []string) error {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 {
			return usagef("%q: want a whole number, 0 or more", args[1])
		}
		return a.edit(func(m *otpme.MemObjects) error { return f(a.ctx, m, args[0], n) })
	}
}

// userFlag is a verb that turns a user's setting on or off.
func userFlag(f func(*otpme.MemObjects, context.Context, string, bool) error, on bool) func(*admin, []string) error {
	return func(a *admin, args []string) error {
		return a.edit(func(m *otpme.MemObjects) error { return f(m, a.ctx, args[0], on) })
	}
}

// userAdd adds the OTPme user and, unless --bind-dn names an existing
// entry, the uid=NAME entry under the people base when it is missing.
func userAdd(a *admin, args []string) error {
	name := args[0]
	if err := a.connect(); err != nil {
		return err
	}
	dn, created, err := a.userEntry(name)
	if err != nil {
		return err
	}
	err = a.edit(func(m *otpme.MemObjects) error {
		if err := m.AddUser(a.ctx, name); err != nil {
			return err
		}
		return m.SetUserBindDN(a.ctx, name, dn)
	})
	if err != nil && created {
		return joinCleanup(err, a.deleteEntry(dn))
	}
	if err == nil && created {
		a.printf("Created entry %s\n", dn)
	}
	return err
}

// userEntry returns the DN of the user's entry, creating uid=NAME under
// the people base if it does not exist.
func (a *admin) userEntry(name string) (dn string, created bool, err error) {
	if a.o.bindDN != "" {
		if _, ok, err := a.readEntry(a.o.bindDN, "1.1"); err != nil || !ok {
			return "", false, joinCleanup(fmt.Errorf("--bind-dn %s: no such entry", a.o.bindDN), err)
		}
		return a.o.bindDN, false, nil
	}
	dn = "uid=" + rdnValue(name) + "," + a.cfg.base(a.cfg.PeopleBase, "people")
	_, ok, err := a.readEntry(dn, "1.1")
	if err != nil || ok {
		return dn, false, err
	}
	var pw []byte
	if a.o.passwordFile != "" {
		if pw, err = readSecretFile(a.o.passwordFile); err != nil {
			return "", false, fmt.Errorf("--password-file: %w", err)
		}
		defer clear(pw)
	}
	return dn, true, a.addPersonEntry(dn, name, pw)
}

// joinCleanup adds the error of a clean-up to the error that caused it.
func joinCleanup(err, cleanup error) error {
	if cleanup == nil {
		return err
	}
	return fmt.Errorf("%w (and cleaning up failed: %w)", err, cleanup)
}

// userDel deletes the user (asking first if it has tokens), the OATH
// entries of its tokens and the pointers to them, and with --entry the
// user's entry.
func userDel(a *admin, args []string) error {
	name := args[0]
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	u, toks, ok := findUser(snap, name)
	if !ok {
		return fmt.Errorf("user %q: %w", name, otpme.ErrNotFound)
	}
	if len(toks) > 0 {
		names := make([]string, len(toks))
		for i, t := range toks {
			names[i] = name + "/" + t.Name
		}
		if err := a.confirm(fmt.Sprintf("User '%s' has these tokens: %s", name, strings.Join(names, ", ")),
			"Delete user "+name+"?"); err != nil {
			return err
		}
	}
	if err := a.edit(func(m *otpme.MemObjects) error { return m.DelUser(a.ctx, name) }); err != nil {
		return err
	}
	for _, t := range toks {
		if err := a.removeOATH(u, t, !a.o.entry); err != nil {
			return err
		}
	}
	if a.o.entry && u.BindDN != "" {
		return a.deleteEntry(u.BindDN)
	}
	return nil
}

// findUser returns the user name of snap and its tokens.
func findUser(snap otpme.Snapshot, name string) (otpme.User, []otpme.Token, bool) {
	for _, u := range snap.Users {
		if u.Name != name {
			continue
		}
		var toks []otpme.Token
		for _, t := range snap.Tokens {
			if t.User == name {
				toks = append(toks, t)
			}
		}
		return u, toks, true
	}
	return otpme.User{}, nil, false
}

// userUnlock resets the user's failed logins.
func userUnlock(a *admin, args []string) error {
	e, err := a.engine()
	if err != nil {
		return err
	}
	return e.Unlock(a.ctx, args[0])
}

// userShow prints the user table, or one user's info and tokens.
func userShow(a *admin, args []string) error {
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	e, err := a.engine()
	if err != nil {
		return err
	}
	if len(args) == 1 {
		return a.showOneUser(e, snap, args[0])
	}
	fails := map[string]int{}
	var js []userJSON
	for _, u := range snap.Users {
		st, err := e.Status(a.ctx, u.Name, "")
		if err != nil {
			return err
		}
		fails[u.Name] = st.Fails
		js = append(js, toUserJSON(u, st, nil))
	}
	if a.g.json {
		return writeJSON(a.out, nonNilSlice(js))
	}
	userTable(snap.Users, fails).write(a.out, "")
	return nil
}

// showOneUser prints "user show NAME".
func (a *admin) showOneUser(e *otpme.Engine, snap otpme.Snapshot, name string) error {
	u, toks, ok := findUser(snap, name)
	if !ok {
		return fmt.Errorf("user %q: %w", name, otpme.ErrNotFound)
	}
	st, err := e.Status(a.ctx, name, "")
	if err != nil {
		return err
	}
	if a.g.json {
		return writeJSON(a.out, toUserJSON(u, st, toks))
	}
	userInfo(a.out, u, st, toks)
	return nil
}

// nonNilSlice makes an empty list print as [] rather than null.
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
