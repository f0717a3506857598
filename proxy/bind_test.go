package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/schema"
)

// fakeDirectory is an in-memory Directory with the modify semantics the
// proxy relies on: a Swap whose old value is not there fails as a conflict.
type fakeDirectory struct {
	mu      sync.Mutex
	entries map[string]map[string][]string
	down    bool
	reads   int
}

func (d *fakeDirectory) Read(_ context.Context, dn string, _ []string) (schema.Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	if d.down {
		return schema.Entry{}, ErrUnavailable
	}
	attrs, ok := d.entries[strings.ToLower(dn)]
	if !ok {
		return schema.Entry{}, ErrNoSuchEntry
	}
	e := schema.Entry{DN: dn, Attributes: map[string][][]byte{}}
	for k, vs := range attrs {
		for _, v := range vs {
			e.Attributes[k] = append(e.Attributes[k], []byte(v))
		}
	}
	return e, nil
}

// Swap checks the assertion and every old value like slapd would.
func (d *fakeDirectory) Swap(_ context.Context, dn string, swaps []Swap, assert *Assertion) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.entries[strings.ToLower(dn)]
	if assert != nil && !slices.Contains(e[assert.Attr], string(assert.Value)) {
		return fmt.Errorf("assertion on %s: %w", assert.Attr, ErrConflict)
	}
	for _, s := range swaps {
		cur := e[s.Attr]
		if (s.Old == "") != (len(cur) == 0) || (s.Old != "" && cur[0] != s.Old) {
			return fmt.Errorf("swap %s: %w", s.Attr, ErrConflict)
		}
	}
	for _, s := range swaps {
		e[s.Attr] = []string{s.New}
	}
	return nil
}

func (d *fakeDirectory) get(dn, attr string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.entries[strings.ToLower(dn)][attr]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// fakeUpstream checks passwords like a directory's simple bind.
type fakeUpstream struct {
	passwords map[string]string
	got       []string // credentials it was asked to check
}

func (u *fakeUpstream) Bind(_ context.Context, _ int64, dn string, pw Secret, _ []byte) (BindResponse, error) {
	u.got = append(u.got, string(pw.Bytes()))
	if want, ok := u.passwords[dn]; ok && want == string(pw.Bytes()) {
		return BindResponse{Code: Success}, nil
	}
	return BindResponse{Code: InvalidCredentials}, nil
}

var (
	testKey  = []byte("12345678901234567890")
	testNow  = time.Unix(1111111109, 0)
	userDN   = "uid=alice,ou=people,dc=example,dc=com"
	plainDN  = "uid=bob,ou=people,dc=example,dc=com"
	hotpDN   = "cn=alice-hotp,ou=tokens,dc=example,dc=com"
	totpDN   = "cn=alice-totp,ou=tokens,dc=example,dc=com"
	hparamDN = "cn=hotp,ou=params,dc=example,dc=com"
	tparamDN = "cn=totp,ou=params,dc=example,dc=com"
)

func newFakeDirectory(withTOTP bool) *fakeDirectory {
	user := map[string][]string{"objectClass": {"inetOrgPerson", "oathHOTPUser"}, "oathHOTPToken": {hotpDN}}
	if withTOTP {
		user["objectClass"] = append(user["objectClass"], "oathTOTPUser")
		user["oathTOTPToken"] = []string{totpDN}
	}
	return &fakeDirectory{entries: map[string]map[string][]string{
		strings.ToLower(userDN):  user,
		strings.ToLower(plainDN): {"objectClass": {"inetOrgPerson"}},
		strings.ToLower(hotpDN): {"objectClass": {"device", "oathHOTPToken"}, "oathSecret": {string(testKey)},
			"oathHOTPParams": {hparamDN}, "oathHOTPCounter": {"4"}},
		strings.ToLower(totpDN): {"objectClass": {"device", "oathTOTPToken"}, "oathSecret": {string(testKey)},
			"oathTOTPParams": {tparamDN}},
		strings.ToLower(hparamDN): {"objectClass": {"applicationProcess", "oathHOTPParams"}, "oathOTPLength": {"6"},
			"oathHMACAlgorithm": {oath.SHA1.OID()}, "oathHOTPLookAhead": {"2"}},
		strings.ToLower(tparamDN): {"objectClass": {"applicationProcess", "oathTOTPParams"}, "oathOTPLength": {"6"},
			"oathHMACAlgorithm": {oath.SHA1.OID()}, "oathTOTPTimeStepPeriod": {"30"}, "oathTOTPTimeStepWindow": {"1"}},
	}}
}

func runBind(t *testing.T, dir Directory, up Upstream, dn, pw string) (BindResponse, *BindRequest) {
	t.Helper()
	s := &Server{cfg: Config{TOTPDrift: DriftParams}, dir: dir}
	req := &BindRequest{ID: 1, Version: 3, DN: dn, Password: NewSecret([]byte(pw)), Received: testNow,
		Upstream: up, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return s.bindChain().Bind(context.Background(), req), req
}

func hotp(counter int64) string { return oath.Code(oath.SHA1, testKey, counter, 6) }

func totp(offset int64) string { return oath.Code(oath.SHA1, testKey, testNow.Unix()/30+offset, 6) }

func TestBindChain(t *testing.T) {
	tests := []struct {
		name        string
		withTOTP    bool
		down        bool
		dn, pw      string
		want        ResultCode
		event       string
		counter     string // oathHOTPCounter afterwards
		lastStep    string // oathTOTPLastTimeStep afterwards
		upstreamGot []string
	}{
		{name: "plain-user-passes-through", dn: plainDN, pw: "bobpw", want: Success, counter: "4", upstreamGot: []string{"bobpw"}},
		{name: "unknown-dn-passes-through", dn: "uid=nobody,dc=example,dc=com", pw: "x", want: InvalidCredentials, counter: "4", upstreamGot: []string{"x"}},
		{name: "hotp-next-code", dn: userDN, pw: "alicepw" + hotp(5), want: Success, event: "AUTH_OK_OTP", counter: "5", upstreamGot: []string{"alicepw"}},
		{name: "hotp-look-ahead-edge", dn: userDN, pw: "alicepw" + hotp(7), want: Success, counter: "7", upstreamGot: []string{"alicepw"}},
		{name: "hotp-past-look-ahead", dn: userDN, pw: "alicepw" + hotp(8), want: InvalidCredentials, counter: "4", upstreamGot: []string{"alicepw" + hotp(8)}},
		{name: "hotp-replayed", dn: userDN, pw: "alicepw" + hotp(4), want: InvalidCredentials, event: "AUTH_OTP_ALREADY_USED", counter: "4"},
		{name: "hotp-older-code-is-just-wrong", dn: userDN, pw: "alicepw" + hotp(3), want: InvalidCredentials, event: "AUTH_FAILED", counter: "4"},
		{name: "wrong-static-burns-code", dn: userDN, pw: "wrong" + hotp(5), want: InvalidCredentials, counter: "5", upstreamGot: []string{"wrong"}},
		{name: "static-only-is-49-even-if-upstream-says-yes", dn: userDN, pw: "alicepw", want: InvalidCredentials, counter: "4", upstreamGot: []string{"alicepw"}},
		{name: "totp-current", withTOTP: true, dn: userDN, pw: "alicepw" + totp(0), want: Success, counter: "4", lastStep: fmt.Sprint(testNow.Unix() / 30)},
		{name: "both-tokens-valid-hotp", withTOTP: true, dn: userDN, pw: "alicepw" + hotp(5), want: Success, counter: "5"},
		{name: "directory-down", down: true, dn: userDN, pw: "alicepw" + hotp(5), want: Unavailable, counter: "4"},
		{name: "unauthenticated-bind", dn: userDN, pw: "", want: UnwillingToPerform, counter: "4"},
		{name: "anonymous-disallowed", dn: "", pw: "", want: InappropriateAuthentication, counter: "4"},
		{name: "empty-dn-with-password", dn: "", pw: "x", want: InvalidCredentials, counter: "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newFakeDirectory(tt.withTOTP)
			dir.down = tt.down
			up := &fakeUpstream{passwords: map[string]string{userDN: "alicepw", plainDN: "bobpw"}}
			resp, req := runBind(t, dir, up, tt.dn, tt.pw)
			assert.Equal(t, tt.want, resp.Code, "result (err: %v)", req.Err)
			if tt.want == InvalidCredentials {
				assert.Empty(t, resp.Message, "49 carries no hint")
			}
			if tt.event != "" {
				assert.Equal(t, tt.event, req.Event)
			}
			dir.down = false
			assert.Equal(t, tt.counter, dir.get(hotpDN, "oathHOTPCounter"))
			assert.Equal(t, tt.lastStep, dir.get(totpDN, "oathTOTPLastTimeStep"))
			if tt.upstreamGot != nil {
				assert.Equal(t, tt.upstreamGot, up.got)
			}
		})
	}
}

// TestBindChain_Replay: of many concurrent binds with one code exactly one
// succeeds, because the commit is a compare-and-swap.
func TestBindChain_Replay(t *testing.T) {
	dir := newFakeDirectory(false)
	var wg sync.WaitGroup
	results := make(chan ResultCode, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			up := &fakeUpstream{passwords: map[string]string{userDN: "alicepw"}}
			resp, _ := runBind(t, dir, up, userDN, "alicepw"+hotp(5))
			results <- resp.Code
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for c := range results {
		if c == Success {
			ok++
		} else {
			require.Equal(t, InvalidCredentials, c)
		}
	}
	assert.Equal(t, 1, ok)
}

func TestBindChain_BadParams(t *testing.T) {
	for _, tc := range []struct{ attr, value string }{
		{"oathOTPLength", "0"}, {"oathOTPLength", "9"}, {"oathHOTPLookAhead", "-1"},
		{"oathHMACAlgorithm", "1.2.840.113549.2.5"}, {"oathOTPLength", "six"},
	} {
		t.Run(tc.attr+"="+tc.value, func(t *testing.T) {
			dir := newFakeDirectory(false)
			dir.entries[strings.ToLower(hparamDN)][tc.attr] = []string{tc.value}
			up := &fakeUpstream{passwords: map[string]string{userDN: "alicepw"}}
			resp, _ := runBind(t, dir, up, userDN, "alicepw"+hotp(5))
			assert.Equal(t, InvalidCredentials, resp.Code)
			assert.Equal(t, "4", dir.get(hotpDN, "oathHOTPCounter"))
		})
	}
}

func TestSecret_neverPrinted(t *testing.T) {
	s := NewSecret([]byte("hunter2"))
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), s.String()} {
		assert.NotContains(t, out, "hunter2")
		assert.NotContains(t, out, fmt.Sprintf("%x", "hunter2"))
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "pw", s)
	assert.NotContains(t, b.String(), "hunter2")
}

// TestBindChain_TokenCache: two proxies with long-lived token caches share
// one directory. A code spent through one is refused through the other
// even though its cache is stale, and a fresh code still works there: the
// compare-and-swap fails on the stale state and the token is read again.
func TestBindChain_TokenCache(t *testing.T) {
	dir := newFakeDirectory(false)
	clock := func() time.Time { return testNow }
	proxyWithCache := func() BindHandler {
		s := &Server{cfg: Config{TOTPDrift: DriftParams, TokenCacheTTL: time.Hour, ParamsCacheTTL: time.Hour}, dir: dir, now: clock}
		return s.bindChain()
	}
	a, b := proxyWithCache(), proxyWithCache()
	bind := func(h BindHandler, pw string) (ResultCode, string) {
		up := &fakeUpstream{passwords: map[string]string{userDN: "alicepw"}}
		req := &BindRequest{ID: 1, Version: 3, DN: userDN, Password: NewSecret([]byte(pw)), Received: testNow,
			Upstream: up, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		return h.Bind(context.Background(), req).Code, req.Event
	}
	code, _ := bind(b, "alicepw"+hotp(5)) // b caches the token, counter 4 → 5
	require.Equal(t, Success, code)
	code, _ = bind(a, "alicepw"+hotp(6)) // a spends 6; b's cache still says 5
	require.Equal(t, Success, code)
	code, event := bind(b, "alicepw"+hotp(6))
	assert.Equal(t, InvalidCredentials, code, "replay through the proxy with the stale cache")
	assert.Equal(t, "AUTH_OTP_ALREADY_USED", event)
	code, _ = bind(b, "alicepw"+hotp(7))
	assert.Equal(t, Success, code, "a fresh code works after the re-read")
	assert.Equal(t, "7", dir.get(hotpDN, "oathHOTPCounter"))
}

// TestBindChain_TokenCacheRefusal: a code refused on cached token and
// params entries is checked once more on fresh ones (the admin may have
// lowered the counter since), at the cost of those two reads; a code
// accepted on them costs none.
func TestBindChain_TokenCacheRefusal(t *testing.T) {
	dir := newFakeDirectory(false)
	s := &Server{cfg: Config{TOTPDrift: DriftParams, TokenCacheTTL: time.Hour, ParamsCacheTTL: time.Hour}, dir: dir,
		now: func() time.Time { return testNow }}
	h := s.bindChain()
	bind := func(pw string) ResultCode {
		up := &fakeUpstream{passwords: map[string]string{userDN: "alicepw"}}
		req := &BindRequest{ID: 1, Version: 3, DN: userDN, Password: NewSecret([]byte(pw)), Received: testNow,
			Upstream: up, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		return h.Bind(context.Background(), req).Code
	}
	require.Equal(t, Success, bind("alicepw"+hotp(5)))
	reads := func() int {
		dir.mu.Lock()
		defer dir.mu.Unlock()
		n := dir.reads
		dir.reads = 0
		return n
	}
	reads()
	require.Equal(t, Success, bind("alicepw"+hotp(6)))
	// Every bind here reads the user entry (this chain has no user index).
	assert.Equal(t, 1, reads(), "accepted on cached entries")
	require.Equal(t, InvalidCredentials, bind("alicepw"+hotp(6)))
	assert.Equal(t, 1+2, reads(), "refused: token and params read again")

	dir.mu.Lock()
	dir.entries[strings.ToLower(hotpDN)]["oathHOTPCounter"] = []string{"2"}
	dir.mu.Unlock()
	assert.Equal(t, Success, bind("alicepw"+hotp(3)), "a code after the lowered counter")
	assert.Equal(t, "3", dir.get(hotpDN, "oathHOTPCounter"))
}
