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
	// non-nil assert is a value the entry must hold for the modify to
	// apply (RFC 4528 assertion control); a mismatch is ErrConflict too.
	Swap(ctx context.Context, dn string, swaps []Swap, assert *Assertion) error
}

// Assertion is an equality assertion: the entry holds Value in Attr.
type Assertion struct {
	Attr  string
	Value []byte
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
// pool of connections, each bound as the service account, shared by all
// binds, requests multiplexed on each by message ID. The bind path's reads
// and swaps go over the proxy's own wire code (svcConn); the OTPme store
// and the admin tool use a second, go-ldap pool for everything else. Where
// connections can be probed, a swap borrows one of its own instead
// (swapPool). All are dialled on first use, and a broken connection is
// redialled on next use.
type ServiceDirectory struct {
	target   Target
	dn       string
	password Secret
	timeout  time.Duration
	next     atomic.Uint64
	slots    []*dirSlot
	fast     []*svcSlot
	swaps    swapPool
}

type dirSlot struct {
	mu   sync.Mutex
	conn *ldap.Conn
}

// NewServiceDirectory returns a pool of size connections (dialled lazily).
func NewServiceDirectory(t Target, dn string, password Secret, size int, timeout time.Duration) *ServiceDirectory {
	size = max(size, 1)
	d := &ServiceDirectory{target: t, dn: dn, password: password, timeout: timeout,
		slots: make([]*dirSlot, size), fast: make([]*svcSlot, size)}
	for i := range d.slots {
		d.slots[i] = &dirSlot{}
		d.fast[i] = &svcSlot{}
	}
	d.swaps.dial = func(ctx context.Context) (*swapConn, error) {
		return dialSwapConn(ctx, t, dn, password, timeout)
	}
	d.swaps.off.Store(t.IsTLS() || !rawIOSupported)
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
	for _, s := range d.fast {
		s.close()
	}
	d.swaps.close()
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
		if e, err = d.read(ctx, dn, attrs); !errors.Is(err, errSvcBroken) {
			break
		}
	}
	if err != nil {
		return schema.Entry{}, fmt.Errorf("read %q: %w", dn, err)
	}
	return e, nil
}

func (d *ServiceDirectory) read(ctx context.Context, dn string, attrs []string) (schema.Entry, error) {
	timeLimit := int(d.timeout / time.Second)
	entries, err := d.search(ctx, func(id int32) []byte { return encodeBaseRead(id, dn, attrs, timeLimit) })
	if err != nil {
		return schema.Entry{}, err
	}
	if len(entries) != 1 {
		return schema.Entry{}, fmt.Errorf("%w: %d entries for a base search", ErrNoSuchEntry, len(entries))
	}
	return entries[0], nil
}

// errSizeLimit: a search found more entries than the directory returns
// to the service account at once.
var errSizeLimit = errors.New("size limit exceeded")

// SearchOne returns the entries right below base that match filter, on
// the bind path's connections, in one answer (no paging): errSizeLimit
// if the directory's size limit cut it short. A broken connection is
// tried once more; a missing base is ErrNoSuchEntry.
func (d *ServiceDirectory) SearchOne(ctx context.Context, base, filter string, attrs []string) ([]schema.Entry, error) {
	f, err := ldap.CompileFilter(filter)
	if err != nil {
		return nil, fmt.Errorf("search %q: filter %s: %w", base, filter, err)
	}
	return d.searchOneBER(ctx, base, f.Bytes(), filter, attrs)
}

// searchOneBER is SearchOne with the filter encoded already (fb); text
// names it in errors.
func (d *ServiceDirectory) searchOneBER(ctx context.Context, base string, fb []byte, text string, attrs []string) ([]schema.Entry, error) {
	timeLimit := int(d.timeout / time.Second)
	var entries []schema.Entry
	var err error
	for range 2 {
		entries, err = d.search(ctx, func(id int32) []byte {
			return encodeSearch(id, base, scopeOneLevel, 0, timeLimit, fb, attrs)
		})
		if !errors.Is(err, errSvcBroken) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search %q for %s: %w", base, text, err)
	}
	return entries, nil
}

// search runs one search request and returns its entries.
func (d *ServiceDirectory) search(ctx context.Context, encode func(id int32) []byte) ([]schema.Entry, error) {
	c, err := d.svc(ctx)
	if err != nil {
		return nil, err
	}
	call, err := c.call(ctx, d.timeout, encode)
	if err != nil {
		return nil, err
	}
	if call.code == sizeLimitExceeded {
		return nil, fmt.Errorf("%w: %d entries returned", errSizeLimit, len(call.entries))
	}
	if err := resultError(call.code, call.message); err != nil {
		return nil, err
	}
	return call.entries, nil
}

// Swap implements Directory. A failed write is never retried: it may have
// been applied, and a retry would then fail as a conflict anyway.
func (d *ServiceDirectory) Swap(ctx context.Context, dn string, swaps []Swap, assert *Assertion) error {
	return d.StartSwap(ctx, dn, swaps, assert)()
}

// StartSwap implements swapStarter: the modify is written now, and the
// returned function waits for its answer (once).
func (d *ServiceDirectory) StartSwap(ctx context.Context, dn string, swaps []Swap, assert *Assertion) func() error {
	fail := func(err error) func() error {
		return func() error { return fmt.Errorf("modify %q: %w", dn, err) }
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	// A connection of its own if one can be had; if not (all lent, or the
	// directory refuses one more connection), a shared one.
	if sc, _ := d.swaps.get(ctx); sc != nil {
		return d.swaps.startSwap(ctx, sc, d.timeout, dn, swaps, assert)
	}
	c, err := d.svc(ctx)
	if err != nil {
		return fail(err)
	}
	p, err := c.send(d.timeout, func(id int32) []byte { return encodeSwap(id, dn, swaps, assert) })
	if err != nil {
		return fail(err)
	}
	return func() error {
		call, err := p.wait(ctx)
		if err == nil {
			err = resultError(call.code, call.message)
		}
		if err != nil {
			return fmt.Errorf("modify %q: %w", dn, err)
		}
		return nil
	}
}

// swapStarter is a Directory that can write a swap and wait for its answer
// later, so a bind can send its swap and its upstream bind back to back
// from one goroutine.
type swapStarter interface {
	StartSwap(ctx context.Context, dn string, swaps []Swap, assert *Assertion) func() error
}

// startSwap starts a swap on dir, in a goroutine if dir cannot do it
// itself.
func startSwap(ctx context.Context, dir Directory, dn string, swaps []Swap, assert *Assertion) func() error {
	if s, ok := dir.(swapStarter); ok {
		return s.StartSwap(ctx, dn, swaps, assert)
	}
	done := make(chan error, 1)
	go func() { done <- dir.Swap(ctx, dn, swaps, assert) }()
	return func() error { return <-done }
}

// svc returns a live connection of the bind path's pool.
func (d *ServiceDirectory) svc(ctx context.Context) (*svcConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s := d.fast[d.next.Add(1)%uint64(len(d.fast))]
	return s.get(ctx, func(ctx context.Context) (*svcConn, error) {
		return dialService(ctx, d.target, d.dn, d.password, d.timeout)
	})
}

// resultError maps a result code to the Directory errors (nil for
// success).
func resultError(code ResultCode, message string) error {
	if code == Success {
		return nil
	}
	return fmt.Errorf("%w: %s %q", codeError(code), code, message)
}

// codeError is the Directory error of a result code other than success.
func codeError(code ResultCode) error {
	switch code {
	case NoSuchObject:
		return ErrNoSuchEntry
	case InvalidDNSyntax:
		return ErrInvalidDN
	case NoSuchAttribute, attributeOrValueExists, constraintViolation, assertionFailed:
		return ErrConflict
	}
	return ErrUnavailable
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
	// go-ldap's own codes (network, timeout, …) are not in codeError's
	// list, so they are ErrUnavailable.
	return fmt.Errorf("%s: %w: %w", what, codeError(ResultCode(le.ResultCode)), err)
}

func toEntry(e *ldap.Entry) schema.Entry {
	out := schema.Entry{DN: e.DN, Attributes: make(map[string][][]byte, len(e.Attributes))}
	for _, a := range e.Attributes {
		out.Attributes[a.Name] = a.ByteValues
	}
	return out
}
