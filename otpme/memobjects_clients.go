package otpme

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// withClient runs f on a copy of the client and stores the copy if f
// succeeds, under the write lock.
func (m *MemObjects) withClient(name string, f func(c *Client) error) error {
	m.lock()
	defer m.mu.Unlock()
	c, ok := m.clients[name]
	if !ok {
		return notFound("client", name)
	}
	if err := f(&c); err != nil {
		return err
	}
	m.clients[name] = c
	return nil
}

// AddClient adds an enabled client without access group, addresses or
// trust check ("otpme-client add").
func (m *MemObjects) AddClient(_ context.Context, name string) error {
	if err := checkName("client", name); err != nil {
		return err
	}
	m.lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[name]; ok {
		return fmt.Errorf("client %q: %w", name, ErrExists)
	}
	m.clients[name] = Client{Name: name, Enabled: true}
	return nil
}

// DelClient deletes the client.
func (m *MemObjects) DelClient(_ context.Context, name string) error {
	m.lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[name]; !ok {
		return notFound("client", name)
	}
	delete(m.clients, name)
	return nil
}

// RenameClient renames the client; its access group, addresses, trust
// check and secret stay ("otpme-client rename").
func (m *MemObjects) RenameClient(_ context.Context, old, name string) error {
	if err := checkName("client", name); err != nil {
		return err
	}
	m.lock()
	defer m.mu.Unlock()
	c, ok := m.clients[old]
	switch {
	case !ok:
		return notFound("client", old)
	case m.clients[name].Name != "":
		return fmt.Errorf("client %q: %w", name, ErrExists)
	}
	c.Name = name
	delete(m.clients, old)
	m.clients[name] = c
	return nil
}

// SetClientEnabled enables or disables the client.
func (m *MemObjects) SetClientEnabled(_ context.Context, name string, on bool) error {
	return m.withClient(name, func(c *Client) error { c.Enabled = on; return nil })
}

// SetClientAccessGroup sets the client's access group ("otpme-client
// access_group"); "" removes it.
func (m *MemObjects) SetClientAccessGroup(_ context.Context, name, group string) error {
	return m.withClient(name, func(c *Client) error {
		if _, ok := m.groups[group]; !ok && group != "" {
			return notFound("access group", group)
		}
		c.AccessGroup = group
		return nil
	})
}

// SetTrustCheck turns the client trust password check on or off
// ("otpme-client enable_tp" / "disable_tp").
func (m *MemObjects) SetTrustCheck(_ context.Context, name string, on bool) error {
	return m.withClient(name, func(c *Client) error { c.TrustCheck = on; return nil })
}

// SetClientSecret sets the client's secret for trust passwords and returns
// it; nil generates 32 hex characters ("otpme-client secret").
func (m *MemObjects) SetClientSecret(_ context.Context, name string, secret Secret) (Secret, error) {
	if secret == nil {
		var err error
		if secret, err = randomSecret(m.rand, 16); err != nil {
			return nil, err
		}
	}
	return secret, m.withClient(name, func(c *Client) error { c.Secret = slices.Clone(secret); return nil })
}

// AddClientAddress allows requests of the client from addr, an IP address
// or a CIDR prefix ("otpme-client add_address"). A client without
// addresses allows any.
func (m *MemObjects) AddClientAddress(_ context.Context, name, addr string) error {
	p, err := parsePrefix(addr)
	if err != nil {
		return fmt.Errorf("address of client %q: %w", name, err)
	}
	return m.withClient(name, func(c *Client) error {
		if !slices.Contains(c.Addresses, p) {
			c.Addresses = append(c.Addresses, p)
		}
		return nil
	})
}

// RemoveClientAddress removes an address added with AddClientAddress.
func (m *MemObjects) RemoveClientAddress(_ context.Context, name, addr string) error {
	p, err := parsePrefix(addr)
	if err != nil {
		return fmt.Errorf("address of client %q: %w", name, err)
	}
	return m.withClient(name, func(c *Client) error {
		if !slices.Contains(c.Addresses, p) {
			return fmt.Errorf("client %q has no address %s: %w", name, p, ErrNotFound)
		}
		c.Addresses = slices.DeleteFunc(c.Addresses, func(q netip.Prefix) bool { return q == p })
		return nil
	})
}

// SetClientDescription sets the client's description.
func (m *MemObjects) SetClientDescription(_ context.Context, name, d string) error {
	return m.withClient(name, func(c *Client) error { c.Description = d; return nil })
}

// parsePrefix reads an IP address (a one-address prefix) or a CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
