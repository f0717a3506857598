package test

import (
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// syncprov turns on RFC 4533 content synchronization on a test database,
// which the proxy's user index needs.
const syncprov = "moduleload syncprov.la\noverlay syncprov"

// startIndexed starts a plain slapd with syncprov and a proxy whose user
// index is live, polling every 200 ms unless change says otherwise.
func startIndexed(t *testing.T, change ...func(*proxy.Config)) (*slapdtest.Server, *runningProxy) {
	t.Helper()
	return startIndexedWith(t, syncprov, change...)
}

// startIndexedWith is startIndexed with the slapd directives that load
// syncprov and set it up.
func startIndexedWith(t *testing.T, syncConfig string, change ...func(*proxy.Config)) (*slapdtest.Server, *runningProxy) {
	t.Helper()
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, ExtraConfig: syncConfig})
	p := startProxy(t, s, append([]func(*proxy.Config){fastIndex}, change...)...)
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live })
	return s, p
}

// fastIndex follows the people subtree and polls every 200 ms.
func fastIndex(c *proxy.Config) {
	c.UserIndexBases = []string{"ou=people,dc=example,dc=com"}
	c.UserIndexInterval = 200 * time.Millisecond
}

// persistMode makes the user index keep persistent searches open.
func persistMode(c *proxy.Config) { c.UserIndex = "persist" }

func waitForIndex(t *testing.T, p *runningProxy, cond func(proxy.IndexStats) bool) {
	t.Helper()
	waitFor(t, "user index state", func() bool { return cond(p.srv.Stats().UserIndex) })
}

// TestUserIndex_NoBypassBySpelling: the index lets a DN it does not hold go
// straight to the directory, so it must hold every spelling the directory
// resolves to an OTP user. Each spelling below is bound with the static
// password alone, directly (ground truth: 0 means slapd took it for the OTP
// user) and through the proxy, which must then refuse it (49) as slapo-otp
// does; spellings slapd does not resolve get slapd's own answer.
func TestUserIndex_NoBypassBySpelling(t *testing.T) {
	s, p := startIndexed(t)
	admin := s.Admin(t)
	pw := userPassword("idx")
	person := func(class ...string) map[string][]string {
		return map[string][]string{"objectClass": append([]string{"inetOrgPerson", "oathHOTPUser"}, class...),
			"sn": {"x"}, "userPassword": {slapdtest.SSHA(pw)}, "oathHOTPToken": {"cn=none,ou=tokens,dc=example,dc=com"}}
	}
	add(t, admin, "uid=Alice Smith,ou=people,dc=example,dc=com", with(person(), "cn", "alice"))
	add(t, admin, "cn=Jürgen Müller,ou=people,dc=example,dc=com", person())
	num := with(person("posixAccount"), "cn", "n")
	num["uid"], num["uidNumber"], num["gidNumber"], num["homeDirectory"] = []string{"num"}, []string{"42"}, []string{"1"}, []string{"/"}
	add(t, admin, "uidNumber=42+uid=num,ou=people,dc=example,dc=com", num)
	plain := map[string][]string{"objectClass": {"inetOrgPerson"}, "sn": {"x"}, "cn": {"p"}, "userPassword": {slapdtest.SSHA(pw)}}
	add(t, admin, "uid=plain,ou=people,dc=example,dc=com", plain)
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Users == 3 })

	sfx := "ou=people,dc=example,dc=com"
	spellings := []string{
		"uid=Alice Smith," + sfx, "UID=alice smith," + sfx, "userid=ALICE SMITH," + sfx,
		"0.9.2342.19200300.100.1.1=Alice Smith," + sfx, "uid = Alice Smith , ou = people , dc = example , dc = com",
		"uid=Alice  Smith," + sfx, "uid= Alice Smith\\20," + sfx, `uid=\41lice\20Smith,` + sfx,
		"uid=Alice Smith,OU=PEOPLE,DC=EXAMPLE,DC=COM", "uid=Alice Smith;ou=people;dc=example;dc=com",
		`uid="Alice Smith",` + sfx, "uid=#040B416C69636520536D697468," + sfx, "uid=Ａlice Smith," + sfx,
		"uid=ALİCE SMİTH," + sfx, "uid=Alice\u00a0Smith," + sfx, "uid=Alice\u00adSmith," + sfx,
		"uid=Alice Smith\\2C," + sfx, "uid=AliceSmith," + sfx, "uid=Alice Smith2," + sfx,
		"cn=Jürgen Müller," + sfx, "cn=JÜRGEN MÜLLER," + sfx, "cn=Ju\u0308rgen Mu\u0308ller," + sfx,
		"cn=J\\C3\\BCrgen M\\C3\\BCller," + sfx, "commonName=jürgen müller," + sfx, "cn=Ｊürgen Müller," + sfx,
		"uidNumber=42+uid=num," + sfx, "uid=num+uidNumber=42," + sfx, "uid=NUM+uidNumber=042," + sfx,
		"uidNumber=0042+uid=num," + sfx, "uidNumber=+42+uid=num," + sfx, "uidNumber=４２+uid=num," + sfx,
	}
	resolved := 0
	for _, dn := range spellings {
		direct := bindCode(t, s.URL, dn, pw, 5*time.Second)
		want := direct
		if direct == 0 {
			want, resolved = int(ldap.LDAPResultInvalidCredentials), resolved+1
		}
		assert.Equal(t, want, bindCode(t, p.URL, dn, pw, 5*time.Second), "%q (slapd alone: %d)", dn, direct)
	}
	t.Logf("%d spellings, %d of them resolved by slapd to an OTP user", len(spellings), resolved)
	assert.GreaterOrEqual(t, resolved, 15, "the spellings must exercise slapd's DN matching")

	mark := len(p.Log.String())
	assert.Equal(t, 0, bindCode(t, p.URL, "uid=plain,"+sfx, pw, 5*time.Second), "a plain user binds")
	assert.Regexp(t, `msg="user index" .*dn="uid=plain,ou=people,dc=example,dc=com" otp_user=false`, p.Log.String()[mark:],
		"answered by the index, no read")
}

func with(a map[string][]string, attr, value string) map[string][]string {
	a[attr] = []string{value}
	return a
}

// TestUserIndex_FollowsChanges: a user who gets a token needs a code from
// the moment the directory tells the proxy (polling: the next poll); one
// whose token goes, or who is renamed or deleted, is followed too. OTP
// binds answered from the index read no user entry and still write the
// counter with the compare-and-swap. Both ways of following are run.
//
// With a session log slapd answers a poll with what changed and what was
// deleted (a delete phase); without one, with what changed and every other
// entry's entryUUID (a present phase).
func TestUserIndex_FollowsChanges(t *testing.T) {
	t.Run("poll", func(t *testing.T) { testIndexFollows(t, syncprov, "poll") })
	t.Run("poll, session log", func(t *testing.T) {
		testIndexFollows(t, syncprov+"\nsyncprov-sessionlog 100", "poll")
	})
	t.Run("persist", func(t *testing.T) { testIndexFollows(t, syncprov, "persist", persistMode) })
}

func testIndexFollows(t *testing.T, syncConfig, mode string, change ...func(*proxy.Config)) {
	s, p := startIndexedWith(t, syncConfig, change...)
	assert.Equal(t, mode, p.srv.Stats().UserIndex.Mode)
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {plain: true}}}
	d := &dataset{prefix: "fc", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	e := &env{sc: sc, data: d}
	admin := s.Admin(t)
	users := func() int { return p.srv.Stats().UserIndex.Users }
	require.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA, 5*time.Second), "no token yet: the static password")

	enroll := ldap.NewModifyRequest(d.userDN("a"), nil)
	enroll.Add("objectClass", []string{"oathHOTPUser"})
	enroll.Add("oathHOTPToken", []string{d.tokenDN("h")})
	require.NoError(t, admin.Modify(enroll))
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Users == 1 })
	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA, 5*time.Second), "enrolled: the password alone is refused")
	mark := len(p.Log.String())
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))
	assert.Equal(t, "0", readAttr(t, admin, d.tokenDN("h"), counterAttr), "counter 0 spent")
	assert.Regexp(t, `msg="user index" .* otp_user=true`, p.Log.String()[mark:], "answered by the index, no read")
	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second), "replay")

	moved := strings.Replace(d.userDN("a"), "uid=fc-a", "uid=fc-moved", 1)
	before := p.srv.Stats().UserIndex.Updates
	require.NoError(t, admin.ModifyDN(ldap.NewModifyDNRequest(d.userDN("a"), "uid=fc-moved", true, "")))
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Updates > before }) // the rename
	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA, 5*time.Second), "the old name is gone")
	assert.Equal(t, 49, bindCode(t, p.URL, moved, pwA, 5*time.Second), "the renamed user still needs a code")
	assert.Equal(t, 0, bindCode(t, p.URL, moved, pwA+e.hotp("h", 1), 5*time.Second))
	assert.Equal(t, 1, users())

	drop := ldap.NewModifyRequest(moved, nil)
	drop.Delete("oathHOTPToken", nil)
	drop.Delete("objectClass", []string{"oathHOTPUser"})
	require.NoError(t, admin.Modify(drop))
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Users == 0 })
	assert.Equal(t, 0, bindCode(t, p.URL, moved, pwA, 5*time.Second), "token gone: the static password again")

	require.NoError(t, admin.Modify(func() *ldap.ModifyRequest {
		r := ldap.NewModifyRequest(moved, nil)
		r.Add("objectClass", []string{"oathHOTPUser"})
		return r
	}()))
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Users == 1 })
	require.NoError(t, admin.Del(ldap.NewDelRequest(moved, nil)))
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Users == 0 })
	assert.Equal(t, 49, bindCode(t, p.URL, moved, pwA, 5*time.Second), "deleted")
	assert.Equal(t, mode, p.srv.Stats().UserIndex.Mode)
}

// TestUserIndex_PollNeedsEntryCSN: a refresh with a cookie finds changes by
// entryCSN, with the service account's rights; where it may not search
// entryCSN, the index would never see a change, so it follows with
// persistent searches instead, and still follows every change.
func TestUserIndex_PollNeedsEntryCSN(t *testing.T) {
	hide := syncprov + "\naccess to attrs=entryCSN by * none"
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, ExtraConfig: hide})
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}, "b": {plain: true}}}
	d := &dataset{prefix: "csn", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	p := startProxy(t, s, fastIndex)
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live && st.Users == 1 })
	assert.Equal(t, "persist", p.srv.Stats().UserIndex.Mode)
	assert.Contains(t, p.Log.String(), "instead of polling")

	enroll := ldap.NewModifyRequest(d.userDN("b"), nil)
	enroll.Add("objectClass", []string{"oathHOTPUser"})
	enroll.Add("oathHOTPToken", []string{d.tokenDN("h")})
	require.NoError(t, s.Admin(t).Modify(enroll))
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Users == 2 })
	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("b"), userPassword("b"), 5*time.Second), "enrolled")
}

// TestUserIndex_PollNeedsEntryCSNEverywhere: where the service account may
// not read entryCSN in one part of a followed base only, a poll's entryCSN
// filter never sends a user enrolled there, though the poll's present
// phase names it. The index then refreshes in full, finds a user without
// entryCSN, and follows with persistent searches: the enrolled user needs
// a code.
func TestUserIndex_PollNeedsEntryCSNEverywhere(t *testing.T) {
	const hidden = "ou=hidden,ou=people,dc=example,dc=com"
	hide := syncprov + "\naccess to dn.subtree=\"" + hidden + "\" attrs=entryCSN by * none"
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, ExtraConfig: hide})
	sc := scenario{tokens: map[string]tokenDef{"h": {}, "s": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "csn2", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	admin := s.Admin(t)
	userDN := "uid=csn2-s," + hidden
	add(t, admin, hidden, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"hidden"}})
	add(t, admin, userDN, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"csn2-s"}, "cn": {"s"}, "sn": {"s"},
		"userPassword": {userPassword("s")}})
	p := startProxy(t, s, fastIndex)
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live && st.Users == 1 })
	require.Equal(t, "poll", p.srv.Stats().UserIndex.Mode, "every OTP user so far has a readable entryCSN")
	require.Equal(t, 0, bindCode(t, p.URL, userDN, userPassword("s"), 5*time.Second), "a plain user")

	enroll := ldap.NewModifyRequest(userDN, nil)
	enroll.Add("objectClass", []string{"oathHOTPUser"})
	enroll.Add("oathHOTPToken", []string{d.tokenDN("s")})
	require.NoError(t, admin.Modify(enroll))
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live && st.Users == 2 })
	assert.Equal(t, "persist", p.srv.Stats().UserIndex.Mode)
	assert.Equal(t, 49, bindCode(t, p.URL, userDN, userPassword("s"), 5*time.Second), "enrolled: the password alone is refused")
	assert.Contains(t, p.Log.String(), "refreshing in full")
}

// TestUserIndex_Unavailable: without syncprov the index stays off and every
// bind reads its entry; when the directory goes away the index stops
// answering, and it is rebuilt when the directory is back.
func TestUserIndex_Unavailable(t *testing.T) {
	bare := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, bare)
	waitFor(t, "the index giving up", func() bool { return strings.Contains(p.Log.String(), "user index off") })
	assert.False(t, p.srv.Stats().UserIndex.Live)
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}, "p": {plain: true}}}
	d := &dataset{prefix: "un", keys: newKeys(sc.tokens)}
	d.load(t, bare, sc)
	e := &env{sc: sc, data: d}
	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA, 5*time.Second))
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("p"), userPassword("p"), 5*time.Second))

	s, q := startIndexed(t)
	d2 := &dataset{prefix: "un2", keys: d.keys}
	d2.load(t, s, sc)
	waitForIndex(t, q, func(st proxy.IndexStats) bool { return st.Users == 1 })
	s.Stop()
	waitForIndex(t, q, func(st proxy.IndexStats) bool { return !st.Live })
	assert.Equal(t, 52, bindCode(t, q.URL, d2.userDN("p"), userPassword("p"), 5*time.Second), "no directory, no bind")
	s.Restart(t)
	deadline := time.Now().Add(time.Minute) // the index retries with back-off, up to 30 s apart
	for st := q.srv.Stats().UserIndex; !st.Live || st.Users != 1; st = q.srv.Stats().UserIndex {
		require.True(t, time.Now().Before(deadline), "the index is not rebuilt: %+v", st)
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, 49, bindCode(t, q.URL, d2.userDN("a"), pwA, 5*time.Second))
	assert.Equal(t, 0, bindCode(t, q.URL, d2.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))
	assert.Equal(t, 0, bindCode(t, q.URL, d2.userDN("p"), userPassword("p"), 5*time.Second))
}

// TestUserIndex_PollStalled: a directory that stops answering stops the
// polling index from answering binds within the interval plus the upstream
// timeout; it is live again once the directory answers.
func TestUserIndex_PollStalled(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, ExtraConfig: syncprov})
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "st", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	link := newFaultLink(t, s.Addr)
	p := startProxyAt(t, s, link.URL(), fastIndex, func(c *proxy.Config) {
		c.UpstreamTimeout, c.BindTimeout = time.Second, 2*time.Second
	})
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live && st.Users == 1 && st.Mode == "poll" })
	link.setStall(true)
	// Within waitFor's 5 s: the next poll is overdue 1.2 s after the last
	// one started.
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return !st.Live })
	link.setStall(false)
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live && st.Users == 1 })
}
