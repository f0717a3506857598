package otpme

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// withGroup runs f on a copy of the group and stores the copy if f
// succeeds, under the write lock.
func (m *MemObjects) withGroup(name string, f func(g *Group) error) error {
	m.lock()
	defer m.mu.Unlock()
	g, ok := m.groups[name]
	if !ok {
		return notFound("access group", name)
	}
	if err := f(&g); err != nil {
		return err
	}
	m.groups[name] = g
	return nil
}

// Group returns the access group name.
func (m *MemObjects) Group(_ context.Context, name string) (Group, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	g, ok := m.groups[name]
	if !ok {
		return Group{}, notFound("access group", name)
	}
	return cloneGroup(g), nil
}

// AddGroup adds an enabled access group with the defaults: max_fail 5,
// sessions off, no master, max_login 0, timeout 30 min, unused timeout
// 5 min ("otpme-group add").
func (m *MemObjects) AddGroup(_ context.Context, name string) error {
	if err := checkName("access group", name); err != nil {
		return err
	}
	id, err := m.newID()
	if err != nil {
		return err
	}
	m.lock()
	defer m.mu.Unlock()
	if _, ok := m.groups[name]; ok {
		return fmt.Errorf("access group %q: %w", name, ErrExists)
	}
	m.groups[name] = Group{ID: id, Name: name, Enabled: true, MaxFail: DefaultMaxFail,
		Timeout: DefaultTimeout, UnusedTimeout: DefaultUnusedTimeout}
	return nil
}

// DelGroup deletes the access group and every reference to it (tokens,
// parent groups, child-session lists, clients); its sessions end. It
// returns the tokens ("user/token") that held the group, which the guide
// shows before deleting.
func (m *MemObjects) DelGroup(ctx context.Context, name string) ([]string, error) {
	m.lock()
	g, ok := m.groups[name]
	if !ok {
		m.mu.Unlock()
		return nil, notFound("access group", name)
	}
	delete(m.groups, name)
	used := m.replaceGroupRefs(name, "")
	m.mu.Unlock()
	if err := m.revoke(ctx, SessionFilter{Group: g.ID}); err != nil {
		return used, err
	}
	return used, m.revalidate(ctx)
}

// RenameGroup renames the access group; every reference follows, and its
// sessions and fail counts stay.
func (m *MemObjects) RenameGroup(_ context.Context, old, name string) error {
	if err := checkName("access group", name); err != nil {
		return err
	}
	m.lock()
	defer m.mu.Unlock()
	g, ok := m.groups[old]
	switch {
	case !ok:
		return notFound("access group", old)
	case m.groups[name].ID != "":
		return fmt.Errorf("access group %q: %w", name, ErrExists)
	}
	g.Name = name
	delete(m.groups, old)
	m.groups[name] = g
	m.replaceGroupRefs(old, name)
	return nil
}

// replaceGroupRefs replaces every reference to the group old by name
// (deletes it if name is "") and returns the tokens that held it. The
// caller holds the write lock.
func (m *MemObjects) replaceGroupRefs(old, name string) []string {
	var used []string
	for _, un := range slices.Sorted(maps.Keys(m.users)) {
		u := m.users[un]
		for _, tn := range slices.Sorted(maps.Keys(u.tokens)) {
			t := u.tokens[tn]
			if t.HasGroup(old) {
				used = append(used, un+"/"+tn)
				t.Groups = replaceName(t.Groups, old, name)
				u.tokens[tn] = t
			}
		}
	}
	for n, g := range m.groups {
		g.Children = replaceName(g.Children, old, name)
		g.ChildSessions = replaceName(g.ChildSessions, old, name)
		m.groups[n] = g
	}
	for n, c := range m.clients {
		if c.AccessGroup == old {
			c.AccessGroup = name
			m.clients[n] = c
		}
	}
	return used
}

// replaceName replaces old by name in list, or deletes it if name is "".
func replaceName(list []string, old, name string) []string {
	if name == "" {
		return slices.DeleteFunc(list, func(s string) bool { return s == old })
	}
	for i, s := range list {
		if s == old {
			list[i] = name
		}
	}
	return list
}

// SetGroupEnabled enables or disables the access group; when disabled,
// the sessions it carried end.
func (m *MemObjects) SetGroupEnabled(ctx context.Context, name string, on bool) error {
	if err := m.withGroup(name, func(g *Group) error { g.Enabled = on; return nil }); err != nil {
		return err
	}
	if on {
		return nil
	}
	return m.revalidate(ctx)
}

// AddChildGroup makes child a child group of parent: tokens allowed for
// parent are allowed for child ("otpme-group add_child_group"). Cycles are
// refused.
func (m *MemObjects) AddChildGroup(_ context.Context, parent, child string) error {
	return m.withGroup(parent, func(g *Group) error {
		if _, ok := m.groups[child]; !ok {
			return notFound("access group", child)
		}
		if newGraph(slices.Collect(maps.Values(m.groups))).reaches(child, parent) {
			return fmt.Errorf("child group %q of %q would make a cycle: %w", child, parent, ErrInvalid)
		}
		if !slices.Contains(g.Children, child) {
			g.Children = append(g.Children, child)
		}
		return nil
	})
}

// RemoveChildGroup ends the child-group relation ("otpme-group
// remove_child_group"); sessions that no longer have a group end.
func (m *MemObjects) RemoveChildGroup(ctx context.Context, parent, child string) error {
	err := m.withGroup(parent, func(g *Group) error {
		if !slices.Contains(g.Children, child) {
			return fmt.Errorf("%q is no child group of %q: %w", child, parent, ErrNotFound)
		}
		g.Children = replaceName(g.Children, child, "")
		return nil
	})
	if err != nil {
		return err
	}
	return m.revalidate(ctx)
}

// AddChildSession makes a login in parent open a session for child too
// ("otpme-group add_child_session").
func (m *MemObjects) AddChildSession(_ context.Context, parent, child string) error {
	return m.withGroup(parent, func(g *Group) error {
		if _, ok := m.groups[child]; !ok {
			return notFound("access group", child)
		}
		if child == parent {
			return fmt.Errorf("access group %q as its own child session: %w", child, ErrInvalid)
		}
		if !slices.Contains(g.ChildSessions, child) {
			g.ChildSessions = append(g.ChildSessions, child)
		}
		return nil
	})
}

// RemoveChildSession stops opening child sessions for child
// ("otpme-group remove_child_session"). Open sessions stay.
func (m *MemObjects) RemoveChildSession(_ context.Context, parent, child string) error {
	return m.withGroup(parent, func(g *Group) error {
		if !slices.Contains(g.ChildSessions, child) {
			return fmt.Errorf("%q is no child session of %q: %w", child, parent, ErrNotFound)
		}
		g.ChildSessions = replaceName(g.ChildSessions, child, "")
		return nil
	})
}

// SetGroupSessions turns session creation on or off ("otpme-group
// enable_sessions" / "disable_sessions"). Open sessions stay.
func (m *MemObjects) SetGroupSessions(_ context.Context, name string, on bool) error {
	return m.withGroup(name, func(g *Group) error { g.Sessions = on; return nil })
}

// SetSessionMaster makes the group a session master or not ("otpme-group
// enable_session_master" / "disable_session_master").
func (m *MemObjects) SetSessionMaster(_ context.Context, name string, on bool) error {
	return m.withGroup(name, func(g *Group) error { g.SessionMaster = on; return nil })
}

// SetMaxLogin sets max_login (0: unlimited). It applies to sessions opened
// afterwards.
func (m *MemObjects) SetMaxLogin(_ context.Context, name string, n int) error {
	if n < 0 {
		return fmt.Errorf("max_login of %q = %d: %w", name, n, ErrInvalid)
	}
	return m.withGroup(name, func(g *Group) error { g.MaxLogin = n; return nil })
}

// SetTimeout sets the session timeout ("otpme-group timeout", in
// minutes there). It applies to sessions opened afterwards.
func (m *MemObjects) SetTimeout(_ context.Context, name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("timeout of %q = %v: %w", name, d, ErrInvalid)
	}
	return m.withGroup(name, func(g *Group) error { g.Timeout = d; return nil })
}

// SetUnusedTimeout sets the unused-session timeout ("otpme-group
// unused_timeout"). It applies to sessions opened afterwards.
func (m *MemObjects) SetUnusedTimeout(_ context.Context, name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("unused timeout of %q = %v: %w", name, d, ErrInvalid)
	}
	return m.withGroup(name, func(g *Group) error { g.UnusedTimeout = d; return nil })
}

// SetGroupMaxFail sets the group's max_fail (0: never locked).
func (m *MemObjects) SetGroupMaxFail(_ context.Context, name string, n int) error {
	if n < 0 {
		return fmt.Errorf("max_fail of %q = %d: %w", name, n, ErrInvalid)
	}
	return m.withGroup(name, func(g *Group) error { g.MaxFail = n; return nil })
}

// SetGroupDescription sets the group's description.
func (m *MemObjects) SetGroupDescription(_ context.Context, name, d string) error {
	return m.withGroup(name, func(g *Group) error { g.Description = d; return nil })
}
