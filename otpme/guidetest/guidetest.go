package guidetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// Backend is where the walk's verifications go and where its admin edits
// land.
type Backend interface {
	// Objects is where the guide's admin commands (user, token, group and
	// client verbs) act and its show commands read. The walk asks for it
	// at each use: a backend whose engine reads the objects elsewhere (the
	// directory) may hand out a new MemObjects after each Verify or Engine
	// call, holding the objects as they are there.
	Objects() *otpme.MemObjects
	// Engine answers the guide's show commands and tools: Status,
	// Sessions, Unlock, GenLogout, GenClientTP. It sees every edit made
	// through Objects so far, reads the store the verifying engine uses,
	// and runs on Clock.
	Engine(t *testing.T) *otpme.Engine
	// Clock is the fake clock of every engine of the backend.
	Clock() *Clock
	// SetAllowGroupMissing sets the guide's ALLOW_GROUP_MISSING (the guide
	// edits otpme.conf): the verifying engine is rebuilt over the same
	// objects, store and clock. Run turns it on first.
	SetAllowGroupMissing(t *testing.T, on bool)
	// Verify is "otpme-auth verify user password client" (client "": a
	// request of no client). A refusal is a Result, not a failure of t.
	Verify(t *testing.T, user string, pw otpme.Secret, client string) otpme.Result
	// ClientIP is the source address of client's requests as the event
	// shows it (client "": a request of no client); "" in-process.
	ClientIP(client string) string
}

// GuideCommands is how many "# otpme-…" commands the guide has.
const GuideCommands = 137

// NotReproduced are the guide's commands (by line) the walk does not run,
// and why.
var NotReproduced = map[int]string{
	1244: "otpme-token gen_ntlm: NTLM is out of scope, an LDAP simple bind carries a password, never an NTLM challenge/response",
	1251: "otpme-auth verify_ntlm: NTLM is out of scope, an LDAP simple bind carries a password, never an NTLM challenge/response",
}

// Step is one command of the guide, at its line in the guide.
type Step struct {
	Line int
	Name string
	Run  func(t *testing.T)
}

// Run replays the guide command by command, in order, against b, one
// subtest per command named after its line ("L0173-verify-static"). Where
// the guide and the engine differ on purpose, the step says so (and
// docs/otpme.md lists it). Each step builds on the ones before it: run the
// whole walk, not one subtest alone. It returns the number of steps run.
func Run(t *testing.T, b Backend) int {
	b.SetAllowGroupMissing(t, true)
	steps := Steps(b)
	for i, s := range steps {
		if i > 0 {
			require.Greater(t, s.Line, steps[i-1].Line, "steps in the guide's order")
		}
		t.Run(fmt.Sprintf("L%04d-%s", s.Line, s.Name), s.Run)
	}
	assert.Equal(t, GuideCommands, len(steps)+len(NotReproduced),
		"every command of the guide is a step or listed as not reproduced")
	return len(steps)
}

// Steps returns the walk's steps for b, in the guide's order.
func Steps(b Backend) []Step {
	w := newWalk(b)
	var out []Step
	for _, part := range [][]Step{
		walkFirstUser(w), walkTokens(w), walkClientsAndGroups(w), walkGroupSessions(w),
		walkChildSessions(w), walkChildGroups(w), walkSessionMaster(w), walkPlugin(w),
	} {
		out = append(out, part...)
	}
	return out
}

// T0 is where every Clock starts.
var T0 = time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)

// Clock is the walk's fake clock: it moves only when the walk says so
// (between steps, never during a verification). It is safe for concurrent
// use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at T0.
func NewClock() *Clock { return &Clock{now: T0} }

// Now returns the fake time; pass it as otpme.Config.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the fake time on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	require.NoError(t, err)
}
