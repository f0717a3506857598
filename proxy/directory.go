package proxy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/schema"
)

// Directory is what the bind steps need of the directory, done with the
// proxy's service account.
type Directory interface {
	// Read returns the entry at dn with the given attributes. A missing
	// entry is ErrNoSuchEntry, a DN the directory cannot parse
	// ErrInvalidDN, an unreachable directory ErrUnavailable.
	Read(ctx context.Context, dn string, attrs []string) (schema.Entry, error)
	// Swap changes attributes of dn in one modify, each by deleting its old
	// value (by value) and adding the new one, so the modify fails if
	// another writer changed any of them first: that is ErrConflict. A
	// non-empty assert is an LDAP filter the entry must match for the
	// modify to apply (RFC 4528 assertion control); a mismatch is
	// ErrConflict too.
	Swap(ctx context.Context, dn string, swaps []Swap, assert string) error
}

// Swap is one compare-and-swap of a single-valued attribute. Old == ""
// means the attribute must be absent.
type Swap struct {
	Attr string
	Old  string
	New  string
}

// Errors of Directory.
var (
	ErrNoSuchEntry = errors.New("no such entry")
	ErrInvalidDN   = errors.New("invalid DN")
	ErrConflict    = errors.New("changed by another writer")
	ErrUnavailable = errors.New("directory unavailable")
)

// ServiceDirectory is the Directory of the proxy's service account: a small
// pool of go-ldap connections, each bound as the service account, shared by
// all binds (go-ldap multiplexes requests on a connection by message ID).
// A broken connection is redialled on next use.
type ServiceDirectory struct {
	target   Target
	dn       string
	password Secret
	timeout  time.Duration
	next     atomic.Uint64
	slots    []*dirSlot
}

type dirSlot struct {
	mu   sync.Mutex
	conn *ldap.Conn
}

// NewServiceDirectory returns a pool of size connections (dialled lazily).
func NewServiceDirectory(t Target, dn string, password Secret, size int, timeout time.Duration) *ServiceDirectory {
	d := &ServiceDirectory{target: t, dn: dn, password: password, timeout: timeout, slots: make([]*dirSlot, max(size, 1))}
	for i := range d.slots {
		d.slots[i] = &dirSlot{}
	}
	return d
}

// Close closes every pooled connection.
func (d *ServiceDirectory) Close() {
	for _, s := range d.slots {
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close()
			s.conn = nil
		}
		s.mu.Unlock()
	}
}

// conn returns a live, bound connection of the next slot.
func (d *ServiceDirectory) conn(ctx context.Context) (*ldap.Conn, error) {
	s := d.slots[d.next.Add(1)%uint64(len(d.slots))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !s.conn.IsClosing() {
		return s.conn, nil
	}
	c, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	s.conn = c
	return c, nil
}

func (d *ServiceDirectory) dial(ctx context.Context) (*ldap.Conn, error) {
	nc, err := d.target.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c := ldap.NewConn(nc, d.target.IsTLS())
	c.Start()
	c.SetTimeout(d.timeout)
	if err := c.Bind(d.dn, string(d.password.Bytes())); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: bind as service account %q: %w", ErrUnavailable, d.dn, err)
	}
	return c, nil
}

// Read implements Directory. A read that fails on a broken connection is
// tried once more on a fresh one.
func (d *ServiceDirectory) Read(ctx context.Context, dn string, attrs []string) (schema.Entry, error) {
	var e schema.Entry
	var err error
	for range 2 {
		e, err = d.read(ctx, dn, attrs)
		if !ldap.IsErrorWithCode(err, ldap.ErrorNetwork) {
			break
		}
	}
	return e, classify(err, fmt.Sprintf("read %q", dn))
}

func (d *ServiceDirectory) read(ctx context.Context, dn string, attrs []string) (schema.Entry, error) {
	c, err := d.conn(ctx)
	if err != nil {
		return schema.Entry{}, err
	}
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(d.timeout/time.Second),
		false, "(objectClass=*)", attrs, nil)
	res, err := c.Search(req)
	if err != nil {
		return schema.Entry{}, err
	}
	if len(res.Entries) != 1 {
		return schema.Entry{}, fmt.Errorf("%w: %d entries for a base search", ErrNoSuchEntry, len(res.Entries))
	}
	return toEntry(res.Entries[0]), nil
}

// Swap implements Directory. A failed write is never retried: it may have
// been applied, and a retry would then fail as a conflict anyway.
func (d *ServiceDirectory) Swap(ctx context.Context, dn string, swaps []Swap, assert string) error {
	c, err := d.conn(ctx)
	if err != nil {
		return classify(err, fmt.Sprintf("modify %q", dn))
	}
	var controls []ldap.Control
	if assert != "" {
		ctrl, err := assertionControl(assert)
		if err != nil {
			return fmt.Errorf("modify %q: %w", dn, err)
		}
		controls = append(controls, ctrl)
	}
	req := ldap.NewModifyRequest(dn, controls)
	for _, s := range swaps {
		if s.Old != "" {
			req.Delete(s.Attr, []string{s.Old})
		}
		req.Add(s.Attr, []string{s.New})
	}
	return classify(c.Modify(req), fmt.Sprintf("modify %q", dn))
}

// classify maps go-ldap errors to the Directory errors.
func classify(err error, what string) error {
	var le *ldap.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrNoSuchEntry):
		return fmt.Errorf("%s: %w", what, err)
	case !errors.As(err, &le):
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	switch le.ResultCode {
	case ldap.LDAPResultNoSuchObject:
		return fmt.Errorf("%s: %w: %w", what, ErrNoSuchEntry, err)
	case ldap.LDAPResultInvalidDNSyntax:
		return fmt.Errorf("%s: %w: %w", what, ErrInvalidDN, err)
	case ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAttributeOrValueExists,
		ldap.LDAPResultConstraintViolation, ldap.LDAPResultAssertionFailed:
		return fmt.Errorf("%s: %w: %w", what, ErrConflict, err)
	case ldap.ErrorNetwork, ldap.LDAPResultUnavailable, ldap.LDAPResultBusy, ldap.LDAPResultServerDown,
		ldap.LDAPResultTimeout, ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultUnwillingToPerform:
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
}

func toEntry(e *ldap.Entry) schema.Entry {
	out := schema.Entry{DN: e.DN, Attributes: make(map[string][][]byte, len(e.Attributes))}
	for _, a := range e.Attributes {
		out.Attributes[a.Name] = a.ByteValues
	}
	return out
}
