package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/ldapotp/ldapotp/otpme"
)

// sessionVerbs are "otpme-session"'s verbs.
func sessionVerbs() []verb {
	return []verb{
		{name: "show", args: "[USER]", max: 1, help: "list live sessions", run: sessionShow},
		{name: "del", args: "[ID…]", max: 64, flags: []string{"user"}, help: "delete sessions by ID, or every session of a user", run: sessionDel},
	}
}

// authVerbs are "otpme-auth"'s verbs.
func authVerbs() []verb {
	return []verb{
		{name: "verify", args: "USER PASSWORD|- [CLIENT]", min: 2, max: 3, flags: []string{"debug", "client-ip"},
			help: "decide a login as the proxy would; prints Accept or Reject (-d: the trace)", run: authVerify},
	}
}

// toolVerbs are the admin verbs of "otpme-tool" (otpauth and code are in
// tool.go).
func toolVerbs() []verb {
	return []verb{
		{name: "gen_logout", args: "PASSWORD", min: 1, max: 1, help: "the session logout password (SLP) of a session's password", run: toolGenLogout},
		{name: "gen_client_tp", args: "CLIENT CODE", min: 2, max: 2, help: "the client trust password (CTP) of a code", run: toolGenClientTP},
	}
}

// sessionShow prints the live sessions of one user or of all.
func sessionShow(a *admin, args []string) error {
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	e, err := a.engine()
	if err != nil {
		return err
	}
	a.noteMemoryStore()
	var all []otpme.SessionInfo
	for _, u := range snap.Users {
		if len(args) == 1 && u.Name != args[0] {
			continue
		}
		ss, err := e.Sessions(a.ctx, u.Name)
		if err != nil {
			return err
		}
		all = append(all, ss...)
	}
	if a.g.json {
		js := []sessionJSON{}
		for _, s := range all {
			js = append(js, toSessionJSON(s))
		}
		return writeJSON(a.out, js)
	}
	sessionTable(all).write(a.out, "")
	return nil
}

// sessionDel deletes sessions by ID or all of a user's.
func sessionDel(a *admin, args []string) error {
	if (len(args) == 0) == (a.o.user == "") {
		return usagef("give session IDs or --user NAME")
	}
	e, err := a.engine()
	if err != nil {
		return err
	}
	a.noteMemoryStore()
	filters := make([]otpme.SessionFilter, 0, len(args))
	for _, id := range args {
		filters = append(filters, otpme.SessionFilter{ID: id})
	}
	if a.o.user != "" {
		u, err := a.objs.User(a.ctx, a.o.user)
		if err != nil {
			return err
		}
		filters = append(filters, otpme.SessionFilter{User: u.ID})
	}
	n := 0
	for _, f := range filters {
		d, err := e.DeleteSessions(a.ctx, f)
		if err != nil {
			return err
		}
		n += d
	}
	if n == 0 {
		return fmt.Errorf("no such session")
	}
	a.printf("%d session(s) deleted\n", n)
	return nil
}

// noteMemoryStore says that the memory store holds nothing of the proxies'.
func (a *admin) noteMemoryStore() {
	if a.cfg.Store == "memory" {
		fmt.Fprintln(a.errw, "note: store is memory: sessions and failed logins live in each proxy; this command sees its own only (use store: directory to share them)")
	}
}

// authVerify decides a login with the proxy's engine and prints Accept or
// Reject (after the trace with -d). As in a bind, an accepted one-time code
// is spent, and HOTP/TOTP logins check the static part against the user's
// entry (see cliOATH).
func authVerify(a *admin, args []string) error {
	e, err := a.engine()
	if err != nil {
		return err
	}
	a.noteMemoryStore()
	pw, err := a.passwordArg(args[1])
	if err != nil {
		return err
	}
	defer pw.Zero()
	req := otpme.Request{User: args[0], Password: pw, ClientIP: a.o.clientIP, Trace: a.o.debug}
	if len(args) == 3 {
		req.Client = args[2]
	}
	res, err := e.Verify(a.ctx, req)
	if a.o.debug {
		for _, l := range res.Trace {
			a.printf("%s\n", l)
		}
	}
	if err != nil {
		return fmt.Errorf("verify %q: %w", args[0], err)
	}
	if res.OK {
		a.printf("Accept\n")
		return nil
	}
	a.printf("Reject\n")
	return errRejected
}

// passwordArg returns the password argument, or the first line of stdin
// for "-" (keeps it out of the process list).
func (a *admin) passwordArg(s string) (otpme.Secret, error) {
	if s != "-" {
		return otpme.Secret(s), nil
	}
	line, err := bufio.NewReader(a.in).ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("read password from stdin: %w", err)
	}
	return otpme.Secret(strings.TrimRight(line, "\r\n")), nil
}

// toolGenLogout prints the session logout password.
func toolGenLogout(a *admin, args []string) error {
	pw, err := a.passwordArg(args[0])
	if err != nil {
		return err
	}
	a.printf("%s\n", string(otpme.LogoutPassword(pw)))
	return nil
}

// toolGenClientTP prints the client trust password of a code.
func toolGenClientTP(a *admin, args []string) error {
	e, err := a.engine()
	if err != nil {
		return err
	}
	tp, err := e.GenClientTP(a.ctx, args[0], otpme.Secret(args[1]))
	if err != nil {
		return err
	}
	a.printf("%s\n", string(tp))
	return nil
}
