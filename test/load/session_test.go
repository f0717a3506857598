package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// sessionServer is a stand-in for the proxy with OTPme sessions: the first
// bind of a DN must carry the current mOTP code of its token and opens a
// session; every later bind must carry that same code.
type sessionServer struct {
	ln     net.Listener
	tokens map[string][2]string // dn → secret, PIN
	mu     sync.Mutex
	opened map[string]string // dn → session password
	opens  int
	hits   int
}

func startSessionServer(t *testing.T, tokens map[string][2]string) *sessionServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &sessionServer{ln: ln, tokens: tokens, opened: map[string]string{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(nc)
		}
	}()
	return s
}

func (s *sessionServer) url() string { return "ldap://" + s.ln.Addr().String() }

func (s *sessionServer) serve(nc net.Conn) {
	defer nc.Close()
	r := bufio.NewReader(nc)
	for {
		if tag, err := r.ReadByte(); err != nil || tag != tagSequence {
			return
		}
		n, err := readLength(r)
		if err != nil {
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		id, op, body, err := parseMessage(msg)
		if err != nil || op != tagBindRequest {
			return // unbind or anything else: hang up
		}
		_, _, rest, _ := readTLV(body) // version
		_, dn, rest, _ := readTLV(rest)
		_, pw, _, _ := readTLV(rest)
		resp := appendInteger(nil, tagEnumerated, int64(s.decide(string(dn), string(pw))))
		resp = append(resp, tagOctetString, 0, tagOctetString, 0)
		m := appendTLV(appendInteger(nil, tagInteger, id), tagBindResponse, resp)
		if _, err := nc.Write(appendTLV(nil, tagSequence, m)); err != nil {
			return
		}
	}
}

func (s *sessionServer) decide(dn, pw string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.opened[dn]; ok {
		if pw != sess {
			return 49
		}
		s.hits++
		return 0
	}
	tok, ok := s.tokens[dn]
	if !ok || pw != otpme.MOTPCode(otpme.Secret(tok[0]), otpme.Secret(tok[1]), time.Now()) {
		return 49
	}
	s.opened[dn] = pw
	s.opens++
	return 0
}

func TestRun_sessionRebind(t *testing.T) {
	users := NewUsers(DefaultLayout, Counts{Plain: 6, HOTP: 2})
	tokens := map[string][2]string{}
	for i, u := range OfKind(users, KindPlain) {
		u.MOTPSecret, u.MOTPPIN = "0123456789abcde"+string(rune('0'+i)), "1234"
		tokens[u.DN] = [2]string{u.MOTPSecret, u.MOTPPIN}
	}
	s := startSessionServer(t, tokens)
	res, err := Run(t.Context(), Config{URL: s.url(), Mode: ModeSessionRebind, Conn: Persistent, Concurrency: 3,
		Duration: 10 * time.Second, MaxOps: 60}, users)
	require.NoError(t, err)
	assert.Equal(t, int64(60), res.OK)
	assert.Zero(t, res.ErrorCount())
	assert.Equal(t, 6, res.Users)
	s.mu.Lock()
	assert.Equal(t, 6, s.opens, "one login per user opens its session")
	assert.Equal(t, 60, s.hits, "every measured bind is a session hit")
	s.mu.Unlock()

	// A second run re-uses the open sessions.
	res, err = Run(t.Context(), Config{URL: s.url(), Mode: ModeSessionRebind, Conn: PerBind, Concurrency: 2,
		Duration: 10 * time.Second, MaxOps: 10}, users)
	require.NoError(t, err)
	assert.Equal(t, int64(10), res.OK)
	s.mu.Lock()
	assert.Equal(t, 6, s.opens)
	s.mu.Unlock()
}

func TestRun_sessionRebindFailedLogin(t *testing.T) {
	users := NewUsers(DefaultLayout, Counts{Plain: 2})
	for _, u := range users {
		u.MOTPSecret, u.MOTPPIN = "0123456789abcdef", "1234"
	}
	s := startSessionServer(t, map[string][2]string{users[0].DN: {"0123456789abcdef", "1234"}})
	_, err := Run(t.Context(), Config{URL: s.url(), Mode: ModeSessionRebind, Conn: Persistent, Concurrency: 1,
		Duration: time.Second, MaxOps: 5}, users)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 of 2 mOTP logins failed: 1× code 49 (Invalid Credentials)")

	_, err = Run(t.Context(), Config{URL: s.url(), Mode: ModeSessionRebind, Conn: Persistent, Concurrency: 1,
		Duration: time.Second, MaxOps: 5}, NewUsers(DefaultLayout, Counts{Plain: 2}))
	assert.ErrorContains(t, err, "needs at least 1 mOTP users, have 0")
}

func TestSharedMOTP(t *testing.T) {
	dir := t.TempDir()
	sec, pin := dir+"/secret", dir+"/pin"
	require.NoError(t, os.WriteFile(sec, []byte("fedcba9876543210\n"), 0o600))
	require.NoError(t, os.WriteFile(pin, []byte("4321\n"), 0o600))
	users := NewUsers(DefaultLayout, Counts{Plain: 2})
	users[1].MOTPSecret, users[1].MOTPPIN = "own", "9999"
	require.NoError(t, options{motpSec: sec, motpPIN: pin}.sharedMOTP(users))
	assert.Equal(t, "fedcba9876543210", users[0].MOTPSecret)
	assert.Equal(t, "4321", users[0].MOTPPIN)
	assert.Equal(t, "own", users[1].MOTPSecret, "a user's own token wins")
	assert.Error(t, options{motpSec: sec}.sharedMOTP(users))
}
