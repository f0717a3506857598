package proxy

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// OATHCheck checks an OATH token outside a client connection — the admin
// CLI's "auth verify" — with exactly the rules of a bind through the proxy:
// slapo-otp's split and window, the compare-and-swap commit (the code is
// spent), then the static part bound as the user on a connection of its
// own.
type OATHCheck struct {
	v      *otpVerifier
	target Target
	now    func() time.Time
}

// NewOATHCheck returns a checker that reads and writes tokens through dir
// and checks static passwords against t.
func NewOATHCheck(dir Directory, t Target, drift DriftMode) *OATHCheck {
	v := &otpVerifier{dir: dir, drift: drift, params: newParamsCache(dir, 0, time.Now),
		tokens: newEntryCache(dir, schema.TokenAttributes, 0, time.Now)}
	return &OATHCheck{v: v, target: t, now: time.Now}
}

// Check reports whether password is a valid login with tok for the user
// whose directory account is userDN, spending the code if it is. A code
// that matched but was spent first is an error wrapping otpme.ErrOTPUsed;
// an unreachable directory one wrapping ErrUnavailable.
func (c *OATHCheck) Check(ctx context.Context, tok otpme.Token, userDN string, password []byte) (bool, error) {
	up := &oneShotUpstream{target: c.target}
	defer up.close()
	req := &BindRequest{ID: 1, Version: 3, DN: userDN, Password: NewSecret(password), Received: c.now(),
		Upstream: up, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return (&bindOATH{v: c.v, req: req}).VerifyOATH(ctx, tok, otpme.Secret(password))
}

// oneShotUpstream is an Upstream dialled for one static-password check.
type oneShotUpstream struct {
	target Target
	up     *upstreamConn
}

// Bind implements Upstream.
func (o *oneShotUpstream) Bind(ctx context.Context, id int64, dn string, password Secret, controls []byte) (BindResponse, error) {
	if o.up == nil {
		up, err := dialUpstream(ctx, o.target)
		if err != nil {
			return BindResponse{}, err
		}
		up.start(1<<20, upstreamOwner{deliver: func([]byte, bool) error { return nil }, gone: func(error) {}})
		o.up = up
	}
	return o.up.Bind(ctx, id, dn, password, controls)
}

func (o *oneShotUpstream) close() {
	if o.up != nil {
		o.up.Close()
	}
}
