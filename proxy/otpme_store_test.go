package proxy

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

var storeT0 = time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)

func TestDirStore_SessionEncoding(t *testing.T) {
	tests := []struct {
		name string
		s    otpme.Session
	}{
		{"full", otpme.Session{ID: "a1", Login: "a0", User: "u", Group: "g", Token: "t", AuthType: "clear-text",
			Client: "roundcube", ClientIP: "192.0.2.1", Salt: []byte{0, 1, 0xff}, PasswordHash: []byte("pw"),
			LogoutHash: []byte("slp"), Created: storeT0, LastUsed: storeT0.Add(time.Nanosecond),
			Expires: storeT0.Add(30 * time.Minute), UnusedTimeout: 5 * time.Minute, Logins: 3, MaxLogin: 4}},
		{"zero-times-and-nil-bytes", otpme.Session{ID: "b1", Login: "b1", User: "u"}},
		{"local-zone", otpme.Session{ID: "c1", Created: storeT0.In(time.FixedZone("x", 3600)), Salt: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeSession(tt.s)
			require.NoError(t, err)
			got, err := decodeSession([]byte(data), "3")
			require.NoError(t, err)
			for _, p := range [][2]time.Time{{tt.s.Created, got.Created}, {tt.s.LastUsed, got.LastUsed}, {tt.s.Expires, got.Expires}} {
				assert.True(t, p[0].Equal(p[1]), "%v != %v", p[0], p[1])
			}
			want := tt.s
			want.Logins = 3
			want.Created, want.LastUsed, want.Expires = got.Created, got.LastUsed, got.Expires
			assert.Equal(t, want, got)
		})
	}
	data, err := encodeSession(tests[0].s)
	require.NoError(t, err)
	_, err = decodeSession([]byte(data), "x")
	assert.Error(t, err, "otpmeLogins must be a number")
	_, err = decodeSession([]byte("{"), "1")
	assert.Error(t, err)
	_, err = encodeSession(otpme.Session{ID: "far", Expires: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	assert.Error(t, err, "a time JSON cannot hold is an error, not an empty value")
}

func TestDirStore_SessionExpiry(t *testing.T) {
	tests := []struct {
		name   string
		s      otpme.Session
		want   time.Time
		expire bool
	}{
		{"never", otpme.Session{LastUsed: storeT0}, time.Time{}, false},
		{"hard-only", otpme.Session{LastUsed: storeT0, Expires: storeT0.Add(time.Hour)}, storeT0.Add(time.Hour), true},
		{"unused-only", otpme.Session{LastUsed: storeT0, UnusedTimeout: time.Minute}, storeT0.Add(time.Minute), true},
		{"unused-first", otpme.Session{LastUsed: storeT0, Expires: storeT0.Add(time.Hour), UnusedTimeout: time.Minute}, storeT0.Add(time.Minute), true},
		{"hard-first", otpme.Session{LastUsed: storeT0, Expires: storeT0.Add(time.Minute), UnusedTimeout: time.Hour}, storeT0.Add(time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sessionExpiry(tt.s)
			assert.Equal(t, tt.expire, ok)
			assert.True(t, tt.want.Equal(got), "%v", got)
			if ok {
				expired, _ := tt.s.Expired(got)
				assert.True(t, expired, "expired at its expiry")
				expired, _ = tt.s.Expired(got.Add(-time.Nanosecond))
				assert.False(t, expired, "alive just before")
			}
		})
	}
}

func TestDirStore_CeilUnix(t *testing.T) {
	assert.Equal(t, storeT0.Unix(), ceilUnix(storeT0))
	assert.Equal(t, storeT0.Unix()+1, ceilUnix(storeT0.Add(time.Nanosecond)))
	assert.Equal(t, storeT0.Unix()+1, ceilUnix(storeT0.Add(time.Second-time.Nanosecond)))
	// Purge's search finds every candidate: expiry <= now implies
	// ceilUnix(expiry) <= ceilUnix(now).
	for _, d := range []time.Duration{0, 1, 999999999, time.Second, 1500 * time.Millisecond} {
		exp := storeT0.Add(d)
		for _, later := range []time.Duration{0, 1, 499 * time.Millisecond, time.Second} {
			assert.LessOrEqual(t, ceilUnix(exp), ceilUnix(exp.Add(later)))
		}
	}
}

func TestDirStore_Keys(t *testing.T) {
	assert.NotEqual(t, stateKey(stateFail, "a", "bc"), stateKey(stateFail, "ab", "c"), "parts are length-prefixed")
	assert.NotEqual(t, stateKey(stateFail, "u", ""), stateKey(stateFail, "u"), "an empty group is a part")
	assert.NotEqual(t, stateKey(stateFail, "t", "c")[len("fail-"):], stateKey(stateCode, "t", "c")[len("code-"):], "the kind is hashed too")
	assert.Regexp(t, `^code-[0-9a-f]{64}$`, stateKey(stateCode, "t", "c"))
	assert.Equal(t, stateKey(stateCode, "t", "c"), stateKey(stateCode, "t", "c"))

	s := NewDirStore(nil, "ou=otpme,dc=example,dc=com")
	dn, err := ldap.ParseDN(s.dn(`a,b+c=d\e"f<g>h;i #`))
	require.NoError(t, err)
	assert.Equal(t, `a,b+c=d\e"f<g>h;i #`, dn.RDNs[0].Attributes[0].Value)
	assert.Equal(t, "state", dn.RDNs[1].Attributes[0].Value)
}

func TestDirStore_SessionFilter(t *testing.T) {
	tests := []struct {
		name string
		f    otpme.SessionFilter
		want string
	}{
		{"zero", otpme.SessionFilter{}, "(&(objectClass=otpmeState)(otpmeKind=session))"},
		{"login-is-matched-in-go", otpme.SessionFilter{Login: "l"}, "(&(objectClass=otpmeState)(otpmeKind=session))"},
		{"all", otpme.SessionFilter{ID: "i", User: "u", Group: "g", Token: "t"},
			"(&(objectClass=otpmeState)(otpmeKind=session)(otpmeKey=i)(otpmeUserID=u)(otpmeGroupID=g)(otpmeTokenID=t))"},
		{"escaped", otpme.SessionFilter{User: `*)(x=\`}, `(&(objectClass=otpmeState)(otpmeKind=session)(otpmeUserID=\2a\29\28x=\5c))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sessionFilter(tt.f)
			assert.Equal(t, tt.want, f.text)
			compiled, err := ldap.CompileFilter(f.text)
			require.NoError(t, err)
			assert.Equal(t, compiled.Bytes(), f.ber, "the BER is go-ldap's encoding of the text")
		})
	}
}

// TestDirStore_StateFilter: the filters built for the bind path encode
// exactly as go-ldap compiles their text, values with filter metacharacters
// and bytes outside ASCII included.
func TestDirStore_StateFilter(t *testing.T) {
	tests := []struct {
		name string
		f    stateFilter
		want string
	}{
		{"eq", eqFilter("otpmeKey", "fail-0a"), "(otpmeKey=fail-0a)"},
		{"metacharacters", eqFilter("otpmeUserID", "a*(b)\\c\x00"), `(otpmeUserID=a\2a\28b\29\5cc\00)`},
		{"utf-8", eqFilter("otpmeUserID", "jürgen"), `(otpmeUserID=j\c3\bcrgen)`},
		{"or-of-and", setFilter('|', eqFilter("a", "1"), setFilter('&', eqFilter("b", "2"), eqFilter("c", "3"))), "(|(a=1)(&(b=2)(c=3)))"},
		{"long", eqFilter("otpmeData", strings.Repeat("x", 300)), "(otpmeData=" + strings.Repeat("x", 300) + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.f.text)
			compiled, err := ldap.CompileFilter(tt.f.text)
			require.NoError(t, err)
			assert.Equal(t, compiled.Bytes(), tt.f.ber)
		})
	}
	assert.Equal(t, "(!(otpmeUserID=*))", eqOrAbsent(stateAttrUser, ""))
	assert.Equal(t, `(otpmeUserID=\2a)`, eqOrAbsent(stateAttrUser, "*"))
}

func TestDirStore_AssertionControl(t *testing.T) {
	const filter = `(otpmeData={"expires":"2024-05-01T17:00:00Z","nonce":"\28\29"})`
	c, err := assertionControl(filter)
	require.NoError(t, err)
	p := c.Encode()
	require.Len(t, p.Children, 3, "type, criticality, value")
	assert.Equal(t, oidAssertion, p.Children[0].Value)
	assert.Equal(t, true, p.Children[1].Value, "critical: a directory without it must refuse, not ignore")
	inner, err := ber.DecodePacketErr(p.Children[2].Data.Bytes())
	require.NoError(t, err)
	back, err := ldap.DecompileFilter(inner)
	require.NoError(t, err)
	assert.Equal(t, filter, back)

	_, err = assertionControl("(unbalanced")
	assert.Error(t, err)
}

func TestDirStore_CodeRecord(t *testing.T) {
	a, err := newCodeRecord(storeT0)
	require.NoError(t, err)
	b, err := newCodeRecord(storeT0)
	require.NoError(t, err)
	assert.NotEqual(t, a.raw, b.raw, "equal expiries still give distinct values")
	got, err := decodeCodeRecord([]byte(a.raw))
	require.NoError(t, err)
	assert.True(t, got.Expires.Equal(storeT0))
	assert.Equal(t, a.raw, got.raw)
}

// TestDirStore_Unreachable: with nothing listening, every call fails with
// ErrUnavailable, and none panics.
func TestDirStore_Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	target, err := ParseTarget("ldap://" + addr)
	require.NoError(t, err)
	d := NewServiceDirectory(target, "cn=svc", NewSecret([]byte("pw")), 1, time.Second)
	defer d.Close()
	s, ctx := NewDirStore(d, "ou=otpme,dc=example,dc=com"), context.Background()
	scope := otpme.Scope{User: "u"}
	calls := map[string]func() error{
		"add-fail":        func() error { _, err := s.AddFail(ctx, scope, "h"); return err },
		"fails":           func() error { _, err := s.Fails(ctx, scope); return err },
		"reset-fails":     func() error { _, err := s.ResetFails(ctx, scope); return err },
		"reset-user":      func() error { return s.ResetUserFails(ctx, "u") },
		"use-code":        func() error { _, err := s.UseCode(ctx, "t", "c", storeT0, storeT0.Add(time.Minute)); return err },
		"create-sessions": func() error { return s.CreateSessions(ctx, []otpme.Session{{ID: "s1"}}) },
		"sessions":        func() error { _, err := s.Sessions(ctx, ""); return err },
		"count-login": func() error {
			_, err := s.CountLogin(ctx, otpme.Session{ID: "s1", MaxLogin: 1}, storeT0)
			return err
		},
		"delete-sessions": func() error { _, err := s.DeleteSessions(ctx, otpme.SessionFilter{}); return err },
		"purge":           func() error { _, err := s.Purge(ctx, storeT0); return err },
	}
	for name, call := range calls {
		assert.ErrorIs(t, call(), ErrUnavailable, name)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Fails(cancelled, scope)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestDirStore_FailHashesCapped: against a real slapd, two proxies adding
// distinct wrong passwords to one scope at once leave at most
// otpme.MaxFailHashes otpmeHash values, and every failure is counted.
func TestDirStore_FailHashesCapped(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, Schemas: []string{"schema/otpme.schema"},
		NoSync: true, LogLevel: "0"})
	target, err := ParseTarget(srv.URL)
	require.NoError(t, err)
	var stores [2]*DirStore
	for i := range stores {
		d := NewServiceDirectory(target, srv.ServiceDN, NewSecret([]byte(srv.ServicePassword)), 4, 10*time.Second)
		t.Cleanup(d.Close)
		stores[i] = NewDirStore(d, "ou=otpme,"+srv.BaseDN)
	}
	ctx, scope := context.Background(), otpme.Scope{User: "u", Group: "g"}
	const workers, each = 8, otpme.MaxFailHashes / 2
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := stores[w%2].AddFail(ctx, scope, fmt.Sprintf("w%d-h%d", w, i))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()

	n, err := stores[0].Fails(ctx, scope)
	require.NoError(t, err)
	assert.Equal(t, workers*each, n)
	e, err := stores[1].read(ctx, stores[1].dn(stateKey(stateFail, scope.User, scope.Group)), stateAttrHash)
	require.NoError(t, err)
	require.NotNil(t, e)
	assert.Equal(t, otpme.MaxFailHashes, len(e.GetEqualFoldAttributeValues(stateAttrHash)), "otpmeHash values held")

	prev, err := stores[1].ResetFails(ctx, scope)
	require.NoError(t, err)
	assert.Equal(t, workers*each, prev)
	n, err = stores[0].Fails(ctx, scope)
	require.NoError(t, err)
	assert.Zero(t, n)
}

// TestDirStore_DropRequest: the drop past otpme.MaxFailHashes deletes the
// oldest hashes but the one just added, and swaps the dropped count by
// value (asserting there is none when it was 0).
func TestDirStore_DropRequest(t *testing.T) {
	over := make([]string, otpme.MaxFailHashes+2)
	for i := range over {
		over[i] = fmt.Sprintf("h%d", i)
	}
	tests := []struct {
		name     string
		f        failState
		keep     string
		drop     []string
		old, new string // dropped counts; old "": none, asserted absent
	}{
		{"oldest-first", failState{hashes: over}, "h65", []string{"h0", "h1"}, "", "2"},
		{"never-the-one-just-added", failState{hashes: over}, "h0", []string{"h1", "h2"}, "", "2"},
		{"count-swapped-by-value", failState{hashes: over, dropped: 7}, "h65", []string{"h0", "h1"}, "7", "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod, err := dropRequest("otpmeKey=fail-x,ou=state", tt.f, tt.keep)
			require.NoError(t, err)
			deleted, added := map[string][]string{}, map[string][]string{}
			for _, c := range mod.Changes {
				switch c.Operation {
				case ldap.DeleteAttribute:
					deleted[c.Modification.Type] = c.Modification.Vals
				case ldap.AddAttribute:
					added[c.Modification.Type] = c.Modification.Vals
				}
			}
			assert.Equal(t, tt.drop, deleted[stateAttrHash])
			assert.Equal(t, []string{tt.new}, added[stateAttrDropped])
			if tt.old == "" {
				assert.NotContains(t, deleted, stateAttrDropped)
				assert.Len(t, mod.Controls, 1, "the assertion that there is no count yet")
			} else {
				assert.Equal(t, []string{tt.old}, deleted[stateAttrDropped])
				assert.Empty(t, mod.Controls)
			}
		})
	}
}
