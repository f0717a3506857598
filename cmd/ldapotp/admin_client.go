package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/ldapotp/ldapotp/otpme"
)

// clientVerbs are "otpme-client"'s verbs, plus add_address/del_address.
func clientVerbs() []verb {
	pair := func(f func(*otpme.MemObjects, context.Context, string, string) error) func(*admin, []string) error {
		return editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return f(m, ctx, a[0], a[1]) })
	}
	flag := func(f func(*otpme.MemObjects, context.Context, string, bool) error, on bool) func(*admin, []string) error {
		return editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return f(m, ctx, a[0], on) })
	}
	return []verb{
		{name: "add", args: "NAME", min: 1, max: 1, help: "add a client",
			run: editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return m.AddClient(ctx, a[0]) })},
		{name: "del", args: "NAME", min: 1, max: 1, help: "delete a client",
			run: editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error { return m.DelClient(ctx, a[0]) })},
		{name: "show", args: "[NAME]", max: 1, help: "list clients", run: clientShow},
		{name: "rename", args: "OLD NEW", min: 2, max: 2, help: "rename a client (settings stay)", run: pair((*otpme.MemObjects).RenameClient)},
		{name: "enable", args: "NAME", min: 1, max: 1, help: "enable a client", run: flag((*otpme.MemObjects).SetClientEnabled, true)},
		{name: "disable", args: "NAME", min: 1, max: 1, help: "disable a client", run: flag((*otpme.MemObjects).SetClientEnabled, false)},
		{name: "access_group", args: "NAME [GROUP]", min: 1, max: 2, help: "set the client's access group (none: remove it)",
			run: editArgs(func(ctx context.Context, m *otpme.MemObjects, a []string) error {
				return m.SetClientAccessGroup(ctx, a[0], append(a, "")[1])
			})},
		{name: "add_address", args: "NAME CIDR", min: 2, max: 2, help: "allow binds of the client from an address or prefix", run: pair((*otpme.MemObjects).AddClientAddress)},
		{name: "del_address", args: "NAME CIDR", min: 2, max: 2, help: "remove an address", run: pair((*otpme.MemObjects).RemoveClientAddress)},
		{name: "secret", args: "NAME [SECRET|-]", min: 1, max: 2,
			help: "set the trust-password secret (-: read it from stdin; generated and printed if not given)", run: clientSecret},
		{name: "enable_tp", args: "NAME", min: 1, max: 1, help: "accept only client trust passwords for one-time tokens", run: flag((*otpme.MemObjects).SetTrustCheck, true)},
		{name: "disable_tp", args: "NAME", min: 1, max: 1, help: "no trust-password check", run: flag((*otpme.MemObjects).SetTrustCheck, false)},
		{name: "description", args: "NAME TEXT", min: 2, max: 2, help: "set the description", run: pair((*otpme.MemObjects).SetClientDescription)},
	}
}

// clientSecret sets the client's secret; a generated one is printed once.
func clientSecret(a *admin, args []string) error {
	given, err := a.optionalSecret(args, 1)
	if err != nil {
		return err
	}
	defer given.Zero()
	var s otpme.Secret
	err = a.edit(func(m *otpme.MemObjects) error {
		var err error
		s, err = m.SetClientSecret(a.ctx, args[0], given)
		return err
	})
	if err != nil {
		return err
	}
	if given == nil {
		a.printf("New secret: %s\n", string(s))
	}
	return nil
}

// clientShow prints the client table.
func clientShow(a *admin, args []string) error {
	snap, err := a.snapshot()
	if err != nil {
		return err
	}
	cs := snap.Clients
	if len(args) == 1 {
		cs = slices.DeleteFunc(cs, func(c otpme.Client) bool { return c.Name != args[0] })
		if len(cs) == 0 {
			return fmt.Errorf("client %q: %w", args[0], otpme.ErrNotFound)
		}
	}
	if a.g.json {
		js := []clientJSON{}
		for _, c := range cs {
			js = append(js, toClientJSON(c))
		}
		return writeJSON(a.out, js)
	}
	clientTable(cs).write(a.out, "")
	return nil
}
