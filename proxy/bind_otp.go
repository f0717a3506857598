package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/schema"
)

// DriftMode says where the TOTP drift of a bind starts from.
type DriftMode string

const (
	// DriftParams reads the drift from the params entry, as slapo-otp does
	// (so it is 0 in practice) and writes the offset of the match to the
	// token. The default: the data written is identical to slapo-otp's.
	DriftParams DriftMode = "params"
	// DriftTrack reads the token's own oathTOTPTimeStepDrift back, so a
	// hardware token whose clock wanders stays inside the window.
	DriftTrack DriftMode = "track"
)

// errConfig marks a token or params entry the OTP check cannot use (period
// 0, length 0 or > 8, negative look-ahead, unknown algorithm, …). The bind
// gets 49 like any failed code, and the operator gets the reason.
var errConfig = errors.New("otp configuration error")

// otpMatch is a code that matched: the token, the static part of the
// credential and the compare-and-swap that spends the code.
type otpMatch struct {
	token  schema.Token
	kind   schema.Kind
	static []byte
	swaps  []Swap
	cached bool // the token entry came from the cache
}

// verifyOTP checks the one-time code of an OTP user exactly as slapo-otp
// does, and spends it before the static password is checked (a code is
// burnt even when the password then turns out wrong). Differences from
// slapo-otp, all deliberate (docs/compat.md): the new counter is written
// with delete-old + add-new, so of two binds with one code only one wins;
// a valid HOTP code of a user who also has a TOTP token is answered; a bad
// token configuration is logged instead of crashing or hanging.
func verifyOTP(v *otpVerifier) BindStep {
	return func(next BindHandler) BindHandler {
		return BindFunc(func(ctx context.Context, req *BindRequest) BindResponse {
			if req.User == nil || !req.User.IsOTPUser {
				return next.Bind(ctx, req)
			}
			m, err := v.find(ctx, req)
			switch {
			case err != nil:
				req.Event = "AUTH_FAILED"
				req.fail(err, "check otp of %q", req.DN)
				return unavailable
			case m == nil:
				return noMatch(ctx, req, next)
			}
			return v.commit(ctx, req, m, next)
		})
	}
}

// noMatch hands the whole, untrimmed credential on (so the directory's
// password policy still counts the failure, as with slapo-otp) and turns a
// success into 49. The edge then makes sure the upstream connection is not
// left bound as the user.
func noMatch(ctx context.Context, req *BindRequest, next BindHandler) BindResponse {
	if req.Event == "" {
		req.Event = "AUTH_FAILED"
	}
	req.trace("no valid code: whole credential goes upstream, a success becomes 49")
	resp := next.Bind(ctx, req)
	if resp.Code == Success {
		return invalidCredentials
	}
	return resp
}

// commit spends the code and hands the static part of the credential on.
// The two are independent round trips, so they run at the same time (the
// swap is written first, then the bind, from this goroutine); the answer
// is success only if both succeed, exactly as if the code had been spent
// first (slapo-otp's order): a lost race is 49 whatever the password, and
// a wrong password still leaves the code spent. Steps after this one
// therefore see the bind before the commit is known, and must leave acting
// on success to the steps above.
func (v *otpVerifier) commit(ctx context.Context, req *BindRequest, m *otpMatch, next BindHandler) BindResponse {
	req.trace("code matched, spending it", "token", m.token.DN, "attrs", swapSummary(m.swaps), "cached", m.cached)
	req.Token = m.token.DN
	whole := *req // the whole credential, for a re-check in spend
	var assert *Assertion
	if m.cached {
		assert = &Assertion{Attr: schema.AttrSecret, Value: m.token.Secret}
	}
	swapped := startSwap(ctx, v.dir, m.token.DN, m.swaps, assert)
	var resp BindResponse
	if len(m.static) == 0 {
		// slapo-otp hands the empty rest to the backend, which refuses it
		// (49); our upstream's front end would say 53, so answer here.
		resp = invalidCredentials
	} else {
		req.Password = NewSecret(m.static)
		resp = next.Bind(ctx, req)
	}
	if err := v.spent(ctx, &whole, m, swapped()); err != nil {
		req.fail(err, "spend otp of token %q", m.token.DN)
		switch {
		case errors.Is(err, ErrConflict):
			req.Event = "AUTH_OTP_ALREADY_USED"
			return invalidCredentials
		case errors.Is(err, ErrUnavailable):
			req.Event = "AUTH_FAILED"
			return unavailable
		}
		req.Event = "AUTH_FAILED"
		return invalidCredentials
	}
	req.Event = "AUTH_FAILED"
	if resp.Code == Success {
		req.Event = "AUTH_OK_OTP"
	}
	return resp
}

// spent finishes spending a code given the answer to its compare-and-swap.
// A match made on a cached token entry also asserted that the secret is
// still the cached one; if the swap failed because the entry moved on
// (another proxy spent a code, an admin changed it), the token is read
// again and the code checked once more on the fresh state, so a stale
// cache never accepts a code the directory's state refuses and never
// refuses one it accepts. req is the bind's copy with the whole
// credential.
func (v *otpVerifier) spent(ctx context.Context, req *BindRequest, m *otpMatch, err error) error {
	if err == nil || !m.cached || !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNoSuchEntry) {
		v.remember(m, err)
		return err
	}
	v.tokens.Invalidate(m.token.DN)
	fresh, _, err := v.tryToken(ctx, req, m.token.DN, m.kind, true)
	switch {
	case err != nil:
		return err
	case fresh == nil || !bytes.Equal(fresh.static, m.static):
		return fmt.Errorf("token %q re-read: %w", m.token.DN, ErrConflict)
	}
	err = v.dir.Swap(ctx, fresh.token.DN, fresh.swaps, nil)
	v.remember(fresh, err)
	return err
}

// remember puts the state a successful swap wrote into the token cache.
func (v *otpVerifier) remember(m *otpMatch, err error) {
	if err != nil {
		v.tokens.Invalidate(m.token.DN)
		return
	}
	values := make(map[string]string, len(m.swaps))
	for _, s := range m.swaps {
		values[s.Attr] = s.New
	}
	v.tokens.Update(m.token.DN, values)
}

// otpVerifier finds the token whose code matches.
type otpVerifier struct {
	dir    Directory
	drift  DriftMode
	params *paramsCache
	tokens *entryCache
}

// find tries the TOTP token, then the HOTP token (slapo-otp's order); the
// first match wins. A missing or unusable token just fails. Only an
// unreachable directory is an error.
func (v *otpVerifier) find(ctx context.Context, req *BindRequest) (*otpMatch, error) {
	tries := []struct {
		dn   string
		kind schema.Kind
	}{{req.User.TOTPToken, schema.TOTP}, {req.User.HOTPToken, schema.HOTP}}
	for _, t := range tries {
		if t.dn == "" {
			continue
		}
		m, err := v.try(ctx, req, t.dn, t.kind)
		switch {
		case errors.Is(err, ErrUnavailable):
			return nil, err
		case errors.Is(err, errConfig):
			req.Log.Error("otp token unusable: fix its params entry", "dn", t.dn, "err", err)
		case err != nil:
			req.Log.Warn("otp token unusable", "dn", t.dn, "err", err)
		case m != nil:
			return m, nil
		default:
			req.trace("no match", "token", t.dn)
		}
	}
	return nil, nil
}

// try checks the credential against one token. (nil, nil) means no match.
// A token entry from the cache that does not match is read again, with its
// params, and the code checked once more: the cache may lag behind a
// secret an admin replaced or a counter an admin lowered, and it must not
// refuse a code the directory's state accepts (spent makes sure it accepts
// none the state refuses). A refused code costs one read, as every bind
// does with slapo-otp.
func (v *otpVerifier) try(ctx context.Context, req *BindRequest, dn string, kind schema.Kind) (*otpMatch, error) {
	event := req.Event
	m, cached, err := v.tryToken(ctx, req, dn, kind, false)
	if m != nil || !cached || errors.Is(err, ErrUnavailable) {
		return m, err
	}
	req.trace("no match on the cached token entry: reading it again", "token", dn)
	req.Event = event // decided again on the fresh entry
	m, _, err = v.tryToken(ctx, req, dn, kind, true)
	return m, err
}

// tryToken is try, reading the token and its params from the directory
// when fresh is set and from the caches otherwise; cached says the token
// entry came from the cache.
func (v *otpVerifier) tryToken(ctx context.Context, req *BindRequest, dn string, kind schema.Kind, fresh bool) (m *otpMatch, cached bool, err error) {
	e, cached, err := v.tokens.read(ctx, dn, fresh)
	if err != nil {
		return nil, false, fmt.Errorf("read %s token: %w", kind, err)
	}
	tok, err := schema.DecodeToken(e, kind)
	if err != nil {
		return nil, cached, err
	}
	pe, _, err := v.params.read(ctx, tok.ParamsDN, fresh)
	if err != nil {
		return nil, cached, fmt.Errorf("read params of token %q: %w", dn, err)
	}
	if kind == schema.HOTP {
		m, err = v.tryHOTP(req, tok, pe)
	} else {
		m, err = v.tryTOTP(req, tok, pe)
	}
	if m != nil {
		m.kind, m.cached = kind, cached
	}
	return m, cached, err
}

func (v *otpVerifier) tryHOTP(req *BindRequest, tok schema.Token, pe schema.Entry) (*otpMatch, error) {
	p, err := schema.DecodeHOTPParams(pe)
	if err != nil {
		return nil, configError(err)
	}
	if err := p.Validate(); err != nil {
		return nil, configError(fmt.Errorf("params %q: %w", pe.DN, err))
	}
	static, code, ok := oath.Split(req.Password.Bytes(), p.Digits)
	if !ok {
		return nil, nil
	}
	counter, ok := oath.VerifyHOTP(p, tok.Secret, tok.Counter, code)
	if !ok {
		markReplay(req, tok.Counter >= 0 && oath.VerifyCode(p.Algorithm, tok.Secret, tok.Counter, code))
		return nil, nil
	}
	swaps := []Swap{{Attr: schema.AttrHOTPCounter, Old: tok.CounterRaw, New: schema.FormatInt(counter)}}
	return &otpMatch{token: tok, static: static, swaps: swaps}, nil
}

func (v *otpVerifier) tryTOTP(req *BindRequest, tok schema.Token, pe schema.Entry) (*otpMatch, error) {
	p, drift, err := schema.DecodeTOTPParams(pe)
	if err != nil {
		return nil, configError(err)
	}
	if err := p.Validate(); err != nil {
		return nil, configError(fmt.Errorf("params %q: %w", pe.DN, err))
	}
	if v.drift == DriftTrack && tok.HasDrift {
		drift = tok.Drift
	}
	static, code, ok := oath.Split(req.Password.Bytes(), p.Digits)
	if !ok {
		return nil, nil
	}
	step, newDrift, ok := oath.VerifyTOTP(p, tok.Secret, tok.LastStep, drift, req.Received, code)
	if !ok {
		markReplay(req, tok.LastStep >= 0 && oath.VerifyCode(p.Algorithm, tok.Secret, tok.LastStep, code))
		return nil, nil
	}
	swaps := []Swap{
		{Attr: schema.AttrTOTPLastStep, Old: tok.LastStepRaw, New: schema.FormatInt(step)},
		{Attr: schema.AttrTOTPDrift, Old: tok.DriftRaw, New: schema.FormatInt(newDrift)},
	}
	return &otpMatch{token: tok, static: static, swaps: swaps}, nil
}

// configError marks err as a configuration problem unless it is merely an
// unreadable entry (those are ordinary failures).
func configError(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", errConfig, err)
}

// markReplay records that a refused code is the one last spent on the
// token, so the operator sees AUTH_OTP_ALREADY_USED rather than a plain
// failure. The client's answer does not change.
func markReplay(req *BindRequest, replayed bool) {
	if replayed {
		req.Event = "AUTH_OTP_ALREADY_USED"
	}
}

// swapSummary names the attributes and new values of a commit (counters
// and steps are not secret).
func swapSummary(swaps []Swap) string {
	s := ""
	for i, w := range swaps {
		if i > 0 {
			s += " "
		}
		s += w.Attr + "=" + w.New
	}
	return s
}
