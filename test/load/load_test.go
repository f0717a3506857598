package main

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sample []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single", ms(7), 99, 7 * time.Millisecond},
		{"p50-odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"p50-even", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90-of-100", hundred, 90, 90 * time.Millisecond},
		{"p99-of-100", hundred, 99, 99 * time.Millisecond},
		{"p100-is-max", hundred, 100, 100 * time.Millisecond},
		{"tiny-p-is-min", hundred, 0.001, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, percentile(tc.sample, tc.p))
		})
	}
}

func TestCombine(t *testing.T) {
	a := Result{OK: 10, Elapsed: time.Second, Latencies: []time.Duration{1, 5}, Errors: map[int]int64{49: 1}}
	b := Result{OK: 30, Elapsed: time.Second, Latencies: []time.Duration{2, 3}, Errors: map[int]int64{49: 2, 52: 1}}
	c := Combine([]Result{a, b})
	assert.Equal(t, int64(40), c.OK)
	assert.InDelta(t, 20.0, c.Rate(), 1e-9)
	assert.Equal(t, []time.Duration{1, 2, 3, 5}, c.Latencies)
	assert.Equal(t, map[int]int64{49: 3, 52: 1}, c.Errors)
	assert.Equal(t, int64(4), c.ErrorCount())
}

func TestResult_Line(t *testing.T) {
	r := Result{Mode: ModeHOTPBind, Target: "proxy", Concurrency: 8, Conn: Persistent, OK: 100,
		Elapsed: 2 * time.Second, Latencies: []time.Duration{time.Millisecond, 1500 * time.Microsecond}}
	assert.Equal(t, "RESULT mode=hotp-bind target=proxy c=8 conns=persistent ops=100 ops_per_s=50.0 "+
		"p50_ms=1.000 p90_ms=1.500 p99_ms=1.500 max_ms=1.500 errors=0", r.Line())
}

func TestPartition(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{2000, 8}, {10, 3}, {8, 8}, {7, 2}} {
		owner := make([]int, tc.n)
		for i := range owner {
			owner[i] = -1
		}
		for w := range tc.workers {
			lo, hi := partition(tc.n, tc.workers, w)
			assert.InDelta(t, float64(tc.n)/float64(tc.workers), float64(hi-lo), 1, "n=%d workers=%d", tc.n, tc.workers)
			for i := lo; i < hi; i++ {
				require.Equal(t, -1, owner[i], "user %d owned twice", i)
				owner[i] = w
			}
		}
		assert.NotContains(t, owner, -1, "n=%d workers=%d: every user has a worker", tc.n, tc.workers)
	}
}

// TestHOTPPassword checks the code sequence against RFC 4226 appendix D:
// the first bind uses counter 0, each bind the next one.
func TestHOTPPassword(t *testing.T) {
	u := &User{Password: "pw", Kind: KindHOTP, Digits: 6, key: []byte("12345678901234567890")}
	for i, want := range []string{"pw755224", "pw287082", "pw359152", "pw969429"} {
		assert.Equal(t, want, string(hotpPassword(u)), "bind %d", i)
	}
	assert.Equal(t, int64(4), u.Next)
}

func TestTOTPPicker(t *testing.T) {
	users := []*User{
		{DN: "a", Password: "pa", Kind: KindTOTP, Digits: 6, Period: 30, key: []byte("12345678901234567890"), lastStep: -1},
		{DN: "b", Password: "pb", Kind: KindTOTP, Digits: 6, Period: 30, key: []byte("12345678901234567890"), lastStep: -1},
	}
	p := &totpPicker{users: users}
	now := time.Unix(59, 0) // RFC 6238 appendix B: step 1 → 287082 (6 digits of 94287082)
	var seen []string
	for range users {
		u, step, wait := p.pick(now)
		require.NotNil(t, u)
		assert.Zero(t, wait)
		assert.Equal(t, int64(1), step)
		assert.Equal(t, u.Password+"287082", string(totpPassword(u, step)))
		seen = append(seen, u.DN)
	}
	assert.ElementsMatch(t, []string{"a", "b"}, seen, "each user once per step")
	u, _, wait := p.pick(now)
	assert.Nil(t, u, "every user spent step 1")
	assert.Equal(t, time.Second, wait, "step 2 starts at 60s")
	u, step, _ := p.pick(now.Add(wait))
	require.NotNil(t, u)
	assert.Equal(t, int64(2), step)
}

func TestUsers_fileRoundTrip(t *testing.T) {
	l := DefaultLayout
	users := NewUsers(l, Counts{Plain: 1, HOTP: 2, TOTP: 1, TOTPPeriod: 5})
	users[1].Next = 42
	path := filepath.Join(t.TempDir(), "users.jsonl")
	require.NoError(t, WriteUsers(path, users))
	got, err := ReadUsers(path)
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, int64(42), got[1].Next)
	assert.Equal(t, users[1].key, got[1].key)
	assert.Equal(t, int64(5), got[3].Period)
	assert.Equal(t, int64(-1), got[3].lastStep)
	assert.Equal(t, "uid=load-hotp-00001,ou=people,dc=example,dc=com", got[2].DN)
	assert.Len(t, OfKind(got, KindHOTP), 2)
}

func TestCheckLoopbackURL(t *testing.T) {
	for _, ok := range []string{"ldap://127.0.0.1:389", "ldap://localhost:1389", "ldap://[::1]:389", "ldap://127.0.0.2:389"} {
		assert.NoError(t, checkLoopbackURL(ok), ok)
	}
	for _, bad := range []string{"ldap://10.0.0.1:389", "ldap://example.com:389", "ldaps://127.0.0.1:636", "ldap://127.0.0.1", "127.0.0.1:389"} {
		assert.Error(t, checkLoopbackURL(bad), bad)
	}
}

func TestConfig_Validate(t *testing.T) {
	good := Config{URL: "ldap://127.0.0.1:389", Mode: ModeHOTPBind, Conn: Persistent, Concurrency: 8, Duration: time.Second}
	require.NoError(t, good.Validate())
	for name, change := range map[string]func(*Config){
		"unknown-mode":    func(c *Config) { c.Mode = "x" },
		"search-per-bind": func(c *Config) { c.Mode, c.Conn = ModeSearch, PerBind },
		"no-workers":      func(c *Config) { c.Concurrency = 0 },
		"unbounded":       func(c *Config) { c.Duration = time.Hour },
		"remote":          func(c *Config) { c.URL = "ldap://192.0.2.1:389" },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			change(&c)
			assert.Error(t, c.Validate())
		})
	}
	c := good
	c.Mode = ModeSessionRebind
	assert.NoError(t, c.Validate())
}

// TestClient_bind runs a bind and a search against a scripted server on
// net.Pipe: the request bytes are what RFC 4511 says, the answers' result
// codes come back.
func TestClient_bind(t *testing.T) {
	cn, sn := net.Pipe()
	defer cn.Close()
	c := &client{nc: cn, r: bufio.NewReader(cn)}
	srv := bufio.NewReader(sn)
	go func() {
		defer sn.Close()
		readRequest(t, srv) // bind
		// BindResponse, id 1, invalidCredentials, "" dn, "" message
		sn.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x31, 0x04, 0x00, 0x04, 0x00})
		readRequest(t, srv) // search
		// SearchResultEntry, then SearchResultDone success
		sn.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x02, 0x64, 0x07, 0x04, 0x03, 'c', '=', 'x', 0x30, 0x00})
		sn.Write([]byte{0x30, 0x0c, 0x02, 0x01, 0x02, 0x65, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
	}()
	code, err := c.bind("cn=x", []byte("secret123456"))
	require.NoError(t, err)
	assert.Equal(t, 49, code)
	code, err = c.search("cn=x", []string{"cn"})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
}

// readRequest reads one message the client sent and checks its framing.
func readRequest(t *testing.T, r *bufio.Reader) {
	tag, err := r.ReadByte()
	if err != nil || tag != tagSequence {
		t.Errorf("request tag %#x, err %v", tag, err)
		return
	}
	n, err := readLength(r)
	if err != nil {
		t.Error(err)
		return
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Error(err)
		return
	}
	if _, op, _, err := parseMessage(b); err != nil || (op != tagBindRequest && op != tagSearchRequest) {
		t.Errorf("request op %#x, err %v", op, err)
	}
}

func TestAppendInteger(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		want string
	}{{0, "\x02\x01\x00"}, {127, "\x02\x01\x7f"}, {128, "\x02\x02\x00\x80"}, {256, "\x02\x02\x01\x00"}} {
		assert.Equal(t, tc.want, string(appendInteger(nil, tagInteger, tc.v)), "%d", tc.v)
	}
	long := appendTLV(nil, tagOctetString, []byte(strings.Repeat("x", 300)))
	tag, v, rest, err := readTLV(long)
	require.NoError(t, err)
	assert.Equal(t, byte(tagOctetString), tag)
	assert.Len(t, v, 300)
	assert.Empty(t, rest)
}
