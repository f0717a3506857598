package guidetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// Key is the engine key of InProcess (any backend may use it).
var Key = otpme.Secret("otpme-guide-test-key-0123456789abcdef-0123")

// InProcess is the Backend that calls one otpme.Engine directly, over
// MemObjects and a MemStore: the guide's "otpme-auth verify" as it is.
type InProcess struct {
	objs  *otpme.MemObjects
	store *otpme.MemStore
	clock *Clock
	eng   *otpme.Engine
}

var _ Backend = (*InProcess)(nil)

// NewInProcess returns an InProcess backend with empty objects and store.
func NewInProcess(t *testing.T) *InProcess {
	b := &InProcess{objs: otpme.NewMemObjects(), store: otpme.NewMemStore(), clock: NewClock()}
	b.SetAllowGroupMissing(t, false)
	return b
}

// Objects implements Backend.
func (b *InProcess) Objects() *otpme.MemObjects { return b.objs }

// Engine implements Backend: the verifying engine itself.
func (b *InProcess) Engine(*testing.T) *otpme.Engine { return b.eng }

// Clock implements Backend.
func (b *InProcess) Clock() *Clock { return b.clock }

// SetAllowGroupMissing implements Backend. The engine is the objects'
// Revoker, as in the proxy.
func (b *InProcess) SetAllowGroupMissing(t *testing.T, on bool) {
	t.Helper()
	var err error
	b.eng, err = otpme.New(otpme.Config{Objects: b.objs, Store: b.store, Key: Key, Now: b.clock.Now, AllowGroupMissing: on})
	require.NoError(t, err)
	b.objs.SetRevoker(b.eng)
}

// Verify implements Backend.
func (b *InProcess) Verify(t *testing.T, user string, pw otpme.Secret, client string) otpme.Result {
	t.Helper()
	r, err := b.eng.Verify(context.Background(), otpme.Request{User: user, Password: pw, Client: client, Trace: true})
	require.NoError(t, err)
	return r
}

// ClientIP implements Backend: requests carry no address.
func (b *InProcess) ClientIP(string) string { return "" }
