package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptedDirectory is a loopback server that answers each request with
// what answer returns (nothing: no answer; nil answer: close the
// connection). It stands in for a misbehaving directory, which real slapd
// cannot be made to be; the well-behaved cases run against slapd in test/.
type scriptedDirectory struct {
	ln     net.Listener
	answer func(id int64, tag int, op []byte) ([][]byte, bool)
	mu     sync.Mutex
	conns  int
}

func newScriptedDirectory(t *testing.T, answer func(id int64, tag int, op []byte) ([][]byte, bool)) (*scriptedDirectory, Target) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &scriptedDirectory{ln: ln, answer: answer}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	u, _ := url.Parse("ldap://" + ln.Addr().String())
	return s, Target{URL: u, DialTimeout: time.Second}
}

func (s *scriptedDirectory) serve() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		go func() {
			defer nc.Close()
			r := bufio.NewReader(nc)
			for {
				msg, err := readMessage(r, 1<<20)
				if err != nil {
					return
				}
				id, tag, op, err := splitMessage(msg)
				if err != nil {
					return
				}
				if tag == tagBindRequest {
					nc.Write(ldapAnswer(id, tagBindResponse, Success))
					continue
				}
				out, keep := s.answer(id, tag, op)
				for _, m := range out {
					nc.Write(m)
				}
				if !keep {
					return
				}
			}
		}()
	}
}

func (s *scriptedDirectory) dials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// ldapAnswer is an LDAPResult-shaped answer.
func ldapAnswer(id int64, tag int, code ResultCode) []byte {
	return encodeResponse(id, tag, result{Code: code, Message: "scripted"})
}

// scriptedEntry is a SearchResultEntry with one attribute.
func scriptedEntry(id int64, dn, attr string, vals ...string) []byte {
	set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
	for _, v := range vals {
		set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "v"))
	}
	pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attr")
	pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, attr, "type"))
	pa.AppendChild(set)
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attrs")
	list.AppendChild(pa)
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tagSearchEntry, nil, "entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "dn"))
	op.AppendChild(list)
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "id"))
	msg.AppendChild(op)
	return msg.Bytes()
}

func newTestServiceDirectory(t *testing.T, target Target, timeout time.Duration) *ServiceDirectory {
	d := NewServiceDirectory(target, "cn=svc", NewSecret([]byte("pw")), 1, timeout)
	t.Cleanup(d.Close)
	return d
}

func TestServiceDirectoryAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer func(id int64, tag int, op []byte) ([][]byte, bool)
		want   error // of Swap; nil: success
	}{
		{"success", func(id int64, _ int, _ []byte) ([][]byte, bool) {
			return [][]byte{ldapAnswer(id, tagModifyResponse, Success)}, true
		}, nil},
		{"assertion-failed", func(id int64, _ int, _ []byte) ([][]byte, bool) {
			return [][]byte{ldapAnswer(id, tagModifyResponse, assertionFailed)}, true
		}, ErrConflict},
		{"old-value-gone", func(id int64, _ int, _ []byte) ([][]byte, bool) {
			return [][]byte{ldapAnswer(id, tagModifyResponse, NoSuchAttribute)}, true
		}, ErrConflict},
		{"entry-gone", func(id int64, _ int, _ []byte) ([][]byte, bool) {
			return [][]byte{ldapAnswer(id, tagModifyResponse, NoSuchObject)}, true
		}, ErrNoSuchEntry},
		{"unwilling", func(id int64, _ int, _ []byte) ([][]byte, bool) {
			return [][]byte{ldapAnswer(id, tagModifyResponse, UnwillingToPerform)}, true
		}, ErrUnavailable},
		{"closes", func(int64, int, []byte) ([][]byte, bool) { return nil, false }, ErrUnavailable},
		{"garbage", func(int64, int, []byte) ([][]byte, bool) {
			return [][]byte{{0x30, 0x03, 0x02, 0x01}}, true
		}, ErrUnavailable},
		{"result-code-not-enumerated", func(id int64, _ int, _ []byte) ([][]byte, bool) {
			return [][]byte{{0x30, 0x0b, 0x02, 0x01, byte(id), 0x67, 0x06, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}}, true
		}, ErrUnavailable},
		{"notice-of-disconnection", func(int64, int, []byte) ([][]byte, bool) {
			return [][]byte{encodeNoticeOfDisconnection(Unavailable, "bye")}, true
		}, ErrUnavailable},
		{"never-answers", func(int64, int, []byte) ([][]byte, bool) { return nil, true }, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, target := newScriptedDirectory(t, tt.answer)
			d := newTestServiceDirectory(t, target, 200*time.Millisecond)
			err := d.Swap(t.Context(), "cn=t", []Swap{{Attr: "oathHOTPCounter", Old: "1", New: "2"}},
				&Assertion{Attr: "oathSecret", Value: []byte("key")})
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), "key", "the asserted secret never appears in an error")
		})
	}
}

func TestServiceDirectoryRead(t *testing.T) {
	var mu sync.Mutex
	closeNext := true
	s, target := newScriptedDirectory(t, func(id int64, tag int, op []byte) ([][]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		if closeNext { // the first read finds its connection broken
			closeNext = false
			return nil, false
		}
		dn, _, _ := tlv(op, berOctetString)
		if string(dn) == "cn=missing" {
			return [][]byte{ldapAnswer(id, tagSearchDone, NoSuchObject)}, true
		}
		return [][]byte{scriptedEntry(id, string(dn), "oathHOTPCounter", "7"), ldapAnswer(id, tagSearchDone, Success)}, true
	})
	d := newTestServiceDirectory(t, target, time.Second)

	e, err := d.Read(t.Context(), "cn=tok", []string{"oathHOTPCounter"})
	require.NoError(t, err, "a read on a broken connection is tried once more")
	assert.Equal(t, "cn=tok", e.DN)
	assert.Equal(t, [][]byte{[]byte("7")}, e.Values("oathhotpcounter"))
	assert.Equal(t, 2, s.dials())

	_, err = d.Read(t.Context(), "cn=missing", nil)
	assert.ErrorIs(t, err, ErrNoSuchEntry)
	assert.Equal(t, 2, s.dials(), "an answer does not break the connection")
}

// Answers come back in any order; each goes to its own caller.
func TestServiceDirectoryPipelines(t *testing.T) {
	var mu sync.Mutex
	var held []int64
	_, target := newScriptedDirectory(t, func(id int64, _ int, op []byte) ([][]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, id)
		if len(held) < 8 {
			return nil, true
		}
		var out [][]byte
		for i := len(held) - 1; i >= 0; i-- { // last asked, first answered
			out = append(out, scriptedEntry(held[i], "cn=e", "id", string(rune('a'+held[i]))),
				ldapAnswer(held[i], tagSearchDone, Success))
		}
		return out, true
	})
	d := newTestServiceDirectory(t, target, 5*time.Second)
	c, err := d.svc(t.Context())
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var sent int32
			call, err := c.call(t.Context(), 5*time.Second, func(id int32) []byte {
				sent = id
				return encodeBaseRead(id, "cn=e", nil, 0)
			})
			if assert.NoError(t, err) && assert.Len(t, call.entries, 1) {
				assert.Equal(t, string(rune('a'+sent)), string(call.entries[0].Values("id")[0]))
			}
		})
	}
	wg.Wait()
}

func TestServiceDirectoryBindRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		msg, _ := readMessage(bufio.NewReader(nc), 1<<20)
		id, _, _, _ := splitMessage(msg)
		nc.Write(ldapAnswer(id, tagBindResponse, InvalidCredentials))
		time.Sleep(time.Second)
	}()
	u, _ := url.Parse("ldap://" + ln.Addr().String())
	d := newTestServiceDirectory(t, Target{URL: u, DialTimeout: time.Second}, time.Second)
	_, err = d.Read(t.Context(), "cn=x", nil)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorContains(t, err, "bind as service account")
	assert.NotContains(t, err.Error(), "pw")
}

func TestServiceDirectoryCancelled(t *testing.T) {
	_, target := newScriptedDirectory(t, func(int64, int, []byte) ([][]byte, bool) { return nil, true })
	d := newTestServiceDirectory(t, target, time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := d.Read(ctx, "cn=x", nil)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
}

// The encodings are what a BER decoder (go-ldap's) reads back.
func TestServiceEncodings(t *testing.T) {
	p, err := ber.DecodePacketErr(encodeBaseRead(300, "uid=a,dc=x", []string{"oathHOTPToken", "objectClass"}, 5))
	require.NoError(t, err)
	assert.EqualValues(t, 300, p.Children[0].Value)
	op := p.Children[1]
	assert.EqualValues(t, tagSearchRequest, op.Tag)
	require.Len(t, op.Children, 8)
	assert.Equal(t, "uid=a,dc=x", op.Children[0].Value)
	assert.EqualValues(t, 0, op.Children[1].Value, "scope base")
	assert.EqualValues(t, 1, op.Children[3].Value, "size limit")
	assert.EqualValues(t, 5, op.Children[4].Value, "time limit")
	assert.Equal(t, false, op.Children[5].Value)
	assert.Equal(t, "objectClass", string(op.Children[6].Data.Bytes()))
	assert.Equal(t, "oathHOTPToken", op.Children[7].Children[0].Value)

	big := string(make([]byte, 70000))
	p, err = ber.DecodePacketErr(encodeSwap(2147483647, "cn=t", []Swap{
		{Attr: "oathTOTPLastTimeStep", Old: "10", New: "11"},
		{Attr: "oathTOTPTimeStepDrift", New: big},
	}, &Assertion{Attr: "oathSecret", Value: []byte{0, 0xff}}))
	require.NoError(t, err)
	assert.EqualValues(t, 2147483647, p.Children[0].Value)
	op = p.Children[1]
	assert.EqualValues(t, tagModifyRequest, op.Tag)
	changes := op.Children[1].Children
	require.Len(t, changes, 3, "delete old, add new; add only where there was no old value")
	for i, want := range []struct {
		op        int64
		attr, val string
	}{{1, "oathTOTPLastTimeStep", "10"}, {0, "oathTOTPLastTimeStep", "11"}, {0, "oathTOTPTimeStepDrift", big}} {
		assert.Equal(t, want.op, changes[i].Children[0].Value)
		assert.Equal(t, want.attr, changes[i].Children[1].Children[0].Value)
		assert.Equal(t, want.val, changes[i].Children[1].Children[1].Children[0].Value)
	}
	ctrl := p.Children[2].Children[0]
	assert.Equal(t, oidAssertion, ctrl.Children[0].Value)
	assert.Equal(t, true, ctrl.Children[1].Value)
	filter, err := ber.DecodePacketErr(ctrl.Children[2].Data.Bytes())
	require.NoError(t, err)
	assert.EqualValues(t, 3, filter.Tag, "equalityMatch")
	assert.Equal(t, "oathSecret", filter.Children[0].Value)
	assert.Equal(t, []byte{0, 0xff}, filter.Children[1].Data.Bytes())
}

func TestParseSearchEntryMalformed(t *testing.T) {
	good := scriptedEntry(1, "cn=a", "x", "1", "2")
	_, _, op, err := splitMessage(good)
	require.NoError(t, err)
	e, err := parseSearchEntry(op)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("1"), []byte("2")}, e.Values("x"))
	for i := range op {
		_, _ = parseSearchEntry(op[:i]) // never panics
	}
	_, err = parseSearchEntry(op[:len(op)-1])
	assert.ErrorIs(t, err, ErrMalformed)
}

// FuzzServiceAnswer feeds arbitrary answers to a service connection's
// reader: it must not panic, and a caller always gets an answer or an
// error.
func FuzzServiceAnswer(f *testing.F) {
	f.Add(scriptedEntry(2, "cn=a", "x", "1"))
	f.Add(ldapAnswer(2, tagSearchDone, Success))
	f.Add(ldapAnswer(2, tagModifyResponse, assertionFailed))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, answer []byte) {
		c := &svcConn{calls: map[int32]*svcCall{}, done: make(chan struct{})}
		call := &svcCall{ch: make(chan struct{}, 1)}
		c.calls[2] = call
		if err := c.dispatch(answer); err != nil {
			return
		}
		select {
		case <-call.ch:
		default:
		}
		_, _, _, _ = splitMessage(answer)
	})
}

func TestServiceDirectorySearchOne(t *testing.T) {
	_, target := newScriptedDirectory(t, func(id int64, _ int, op []byte) ([][]byte, bool) {
		base, _, _ := tlv(op, berOctetString)
		code := Success
		if string(base) == "ou=big" {
			code = sizeLimitExceeded
		}
		return [][]byte{scriptedEntry(id, "cn=1,"+string(base), "cn", "1"), scriptedEntry(id, "cn=2,"+string(base), "cn", "2"),
			ldapAnswer(id, tagSearchDone, code)}, true
	})
	d := newTestServiceDirectory(t, target, time.Second)
	got, err := d.SearchOne(t.Context(), "ou=small", "(cn=*)", []string{"cn"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "cn=2,ou=small", got[1].DN)
	_, err = d.SearchOne(t.Context(), "ou=big", "(cn=*)", nil)
	assert.ErrorIs(t, err, errSizeLimit, "a cut-short answer is not taken for all of it")
	_, err = d.SearchOne(t.Context(), "ou=small", "(cn=*", nil)
	assert.ErrorContains(t, err, "filter")
}
