package test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// faultLink is a TCP forwarder between the proxy and slapd that can stall
// (stop moving bytes, keep the connections: a hung directory) and cut
// (close every connection: a dead network path).
type faultLink struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	stall  bool
	conns  []net.Conn
}

func newFaultLink(t *testing.T, target string) *faultLink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &faultLink{l: l, target: target}
	f.cond = sync.NewCond(&f.mu)
	t.Cleanup(func() { l.Close(); f.setStall(false); f.cut() })
	go f.accept()
	return f
}

func (f *faultLink) URL() string { return "ldap://" + f.l.Addr().String() }

func (f *faultLink) accept() {
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, c, u)
		f.mu.Unlock()
		go f.pipe(c, u)
		go f.pipe(u, c)
	}
}

// pipe copies src to dst, waiting while the link is stalled.
func (f *faultLink) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		f.mu.Lock()
		for f.stall {
			f.cond.Wait()
		}
		f.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				src.Close()
			}
			return
		}
	}
}

func (f *faultLink) setStall(on bool) {
	f.mu.Lock()
	f.stall = on
	f.mu.Unlock()
	f.cond.Broadcast()
}

func (f *faultLink) cut() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// faultSetup: slapd, a fault link, a proxy with short timeouts behind it,
// and a user with an HOTP token.
type faultSetup struct {
	slapd *slapdtest.Server
	link  *faultLink
	p     *runningProxy
	dn    string
	tok   string
	e     *env
	next  int64
}

func newFaultSetup(t *testing.T) *faultSetup {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain})
	link := newFaultLink(t, s.Addr)
	p := startProxyAt(t, s, link.URL(), func(c *proxy.Config) {
		c.UpstreamTimeout, c.BindTimeout = time.Second, 2*time.Second
	})
	// Look-ahead 10: a refused bind may or may not have spent its code, so
	// the test moves on to the next code either way.
	sc := scenario{tokens: map[string]tokenDef{"h": {lookAhead: "10"}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "fault", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	return &faultSetup{slapd: s, link: link, p: p, dn: d.userDN("a"), tok: d.tokenDN("h"), e: &env{sc: sc, data: d}}
}

// bind sends the next code with a client timeout longer than the proxy's
// bind timeout; it returns the result code and how long it took. The code
// counts as used after any answer: a refused bind may still have spent it
// (spent before the password check, as in slapo-otp).
func (f *faultSetup) bind(t *testing.T) (int, time.Duration) {
	start := time.Now()
	code := tryBindWithin(f.p.URL, f.dn, pwA+f.e.hotp("h", f.next), 10*time.Second)
	f.next++
	return code, time.Since(start)
}

func (f *faultSetup) counter(t *testing.T) string {
	return readAttr(t, f.slapd.Admin(t), f.tok, counterAttr)
}

// recovers waits until a bind with the next code works again.
func (f *faultSetup) recovers(t *testing.T) {
	t.Helper()
	waitFor(t, "binds work again", func() bool { c, _ := f.bind(t); return c == 0 })
}

// TestFault_UpstreamStalled: a directory that stops answering makes binds
// fail with unavailable within the timeouts, never hang, never succeed;
// the proxy recovers by itself when the directory answers again.
func TestFault_UpstreamStalled(t *testing.T) {
	f := newFaultSetup(t)
	f.recovers(t)
	before := f.counter(t)
	f.link.setStall(true)
	code, took := f.bind(t)
	assert.Equal(t, 52, code)
	assert.Less(t, took, 5*time.Second, "answered within the timeouts")
	f.link.setStall(false)
	assert.Equal(t, before, f.counter(t), "no counter moved")
	f.recovers(t)
}

// TestFault_UpstreamKilledAndRestarted: slapd killed (binds refused with
// unavailable, a bound client told and disconnected), then restarted (the
// proxy recovers by itself, counters intact).
func TestFault_UpstreamKilledAndRestarted(t *testing.T) {
	f := newFaultSetup(t)
	bound := dial(t, f.p.URL, 5*time.Second)
	require.NoError(t, bound.Bind(f.dn, pwA+f.e.hotp("h", 0)))
	f.next = 1
	spent := f.counter(t)
	f.slapd.Kill()
	code, took := f.bind(t)
	assert.Equal(t, 52, code, "refused, not accepted")
	assert.Less(t, took, 5*time.Second)
	_, err := bound.WhoAmI(nil)
	assert.Error(t, err, "the bound client lost its upstream identity and is disconnected")
	f.slapd.Restart(t)
	assert.Equal(t, spent, f.counter(t), "nothing written while the directory was down")
	f.recovers(t)
	assert.Equal(t, fmt.Sprint(f.next-1), f.counter(t), "the counter moved on from where it was, nothing regressed")
}

// TestFault_LinkCut: every connection to the directory drops at once.
func TestFault_LinkCut(t *testing.T) {
	f := newFaultSetup(t)
	f.recovers(t)
	f.link.cut()
	f.recovers(t)
	assert.Equal(t, fmt.Sprint(f.next-1), f.counter(t))
}

// TestFault_IdleConnectionsCut: every connection to the directory drops
// while the proxy is idle; the next bind works at its first try (no
// pooled connection is used after the directory's side closed it).
func TestFault_IdleConnectionsCut(t *testing.T) {
	f := newFaultSetup(t)
	f.recovers(t)
	for range 3 { // a bound client's upstream, the service and counter-write connections
		f.link.cut()
		time.Sleep(100 * time.Millisecond) // the closes reach the proxy
		code, _ := f.bind(t)
		require.Equal(t, 0, code, "the first bind after the cut")
	}
	assert.Equal(t, fmt.Sprint(f.next-1), f.counter(t))
}

// TestFault_WriteBackRefused: the directory refuses the counter write (ACL);
// the bind is refused and the counter does not move.
func TestFault_WriteBackRefused(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, ExtraConfig: `access to dn.base="cn=deny-h,ou=tokens,dc=example,dc=com" attrs=oathHOTPCounter
	by dn.exact="cn=ldapotp,ou=services,dc=example,dc=com" read
	by * none`})
	p := startProxy(t, s)
	sc := scenario{tokens: map[string]tokenDef{"h": {counter: "7"}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "deny", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	e := &env{sc: sc, data: d}
	code := bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 8), 5*time.Second)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, []int{49, 52}, code)
	assert.Equal(t, "7", readAttr(t, s.Admin(t), d.tokenDN("h"), counterAttr))
	assert.Contains(t, p.Log.String(), "insufficientAccessRights")
}
