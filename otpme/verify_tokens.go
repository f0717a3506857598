package otpme

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// verifyTokens tries the tokens the request may use: static passwords
// first, then one-time tokens; the first that verifies decides.
func (v *verification) verifyTokens(ctx context.Context) (bool, error) {
	toks, err := v.selectTokens(ctx)
	if err != nil {
		return true, err
	}
	if len(toks) == 0 {
		v.tr.warn("Unable to find a token to verify this request.")
		return v.refuse(ctx, AuthTokenMissing, true)
	}
	static, otp := splitTokens(toks)
	if len(static) > 0 {
		v.tr.debug("Will try the following static password tokens to verify this request: %s", tokenNames(static))
	}
	if len(otp) > 0 {
		v.tr.debug("Will try the following otp tokens to verify this request: %s", tokenNames(otp))
	}
	v.tr.debug("Verifying static password tokens...")
	for _, t := range static {
		v.tr.debug("Verifying token '%s'.", t.Name)
		if CheckPassword(t.PasswordHash, v.req.Password) {
			v.tr.debug("Token '%s' verified successful.", t.Name)
			return v.accept(ctx, AuthOKStatic, KindStatic, t)
		}
	}
	v.tr.debug("Verifying otp tokens...")
	for _, t := range otp {
		v.tr.debug("Verifying token '%s'.", t.Name)
		if done, err := v.tryOTP(ctx, t); done || err != nil {
			return true, err
		}
	}
	return v.refuse(ctx, AuthFailed, true)
}

// selectTokens returns the user's enabled tokens the request may use: all
// of them without access group (ALLOW_GROUP_MISSING), else those holding
// the group or a parent of it.
func (v *verification) selectTokens(ctx context.Context) ([]Token, error) {
	all, err := v.userTokens(ctx)
	if err != nil {
		return nil, err
	}
	if v.group == nil {
		v.tr.debug("NOTICE: ALLOW_GROUP_MISSING is configured. Getting a list of all user tokens.")
	} else {
		v.tr.debug("Selecting user tokens based on access_group '%s'.", v.group.Name)
	}
	var out []Token
	for _, t := range all {
		if !t.Enabled || !v.selectable(t) {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// selectable reports (and traces) whether t may be used for the request's
// group.
func (v *verification) selectable(t Token) bool {
	if v.group == nil {
		return true
	}
	via, ok := v.graph.grant(t, v.group.Name)
	switch {
	case !ok:
		return false
	case via == v.group.Name:
		v.tr.debug("Selecting token '%s' based on access group '%s'.", t.Name, via)
	default:
		v.tr.debug("Selecting token '%s' based on parent access group '%s'.", t.Name, via)
	}
	return true
}

func splitTokens(ts []Token) (static, otp []Token) {
	for _, t := range ts {
		switch {
		case t.Type == TokenPassword:
			static = append(static, t)
		case t.Type.OneTime():
			otp = append(otp, t)
		}
	}
	return static, otp
}

func tokenNames(ts []Token) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// trusted reports whether the client sends client trust passwords.
func (v *verification) trusted() bool { return v.client != nil && v.client.TrustCheck }

// tryOTP verifies the request with one one-time token; done is set when
// the token decided the request.
func (v *verification) tryOTP(ctx context.Context, t Token) (bool, error) {
	switch {
	case t.Type == TokenMOTP:
		return v.tryMOTP(ctx, t)
	case t.Type.OATH():
		return v.tryOATH(ctx, t)
	}
	return false, nil
}

// tryMOTP checks an mOTP code (or, for a trust-check client, the CTP
// derived from it) and spends it: a code works once.
func (v *verification) tryMOTP(ctx context.Context, t Token) (bool, error) {
	expect := func(code []byte) []byte { return code }
	if v.trusted() && len(v.client.Secret) == 0 {
		v.tr.warn("Client '%s' checks trust passwords but has no secret: token '%s' cannot be verified.", v.client.Name, t.Name)
		return false, nil
	}
	if v.trusted() {
		secret := v.client.Secret
		expect = func(code []byte) []byte { return TrustPassword(secret, code) }
	}
	m, ok := matchMOTP(t, v.req.Password, v.now, expect)
	if !ok {
		return false, nil
	}
	v.traceVerified(t)
	h := usedCodeHash(t.ID, m.code)
	clear(m.code)
	first, err := v.e.c.Store.UseCode(ctx, t.ID, h, v.now, usedUntil(t, m.step))
	switch {
	case err != nil:
		return true, fmt.Errorf("spend code of token %q of %q: %w", t.Name, v.user.Name, err)
	case !first:
		return v.alreadyUsed(ctx, t)
	}
	v.tr.debug("Adding OTP from this session to used OTPs of the user.")
	return v.acceptOTP(ctx, t)
}

// tryOATH hands an HOTP or TOTP token to the OATHVerifier, which spends
// the code in the directory. A CTP cannot be checked this way.
func (v *verification) tryOATH(ctx context.Context, t Token) (bool, error) {
	switch {
	case v.e.c.OATH == nil:
		v.tr.debug("No OATH verifier configured: token '%s' cannot be verified.", t.Name)
		return false, nil
	case v.trusted():
		v.tr.debug("Token '%s' (%s) cannot verify a client trust password.", t.Name, t.Type)
		return false, nil
	}
	ok, err := v.e.c.OATH.VerifyOATH(ctx, t, v.req.Password)
	switch {
	case errors.Is(err, ErrOTPUsed):
		v.traceVerified(t)
		return v.alreadyUsed(ctx, t)
	case err != nil:
		return true, fmt.Errorf("verify %s token %q of %q: %w", t.Type, t.Name, v.user.Name, err)
	case !ok:
		return false, nil
	}
	v.traceVerified(t)
	return v.acceptOTP(ctx, t)
}

func (v *verification) traceVerified(t Token) {
	if v.trusted() {
		v.tr.debug("Token '%s' verified successful with a trust password of client '%s'.", t.Name, v.client.Name)
		return
	}
	v.tr.debug("Token '%s' verified successful.", t.Name)
}

func (v *verification) alreadyUsed(ctx context.Context, t Token) (bool, error) {
	v.tr.warn("OTP from this request was already used. Authentication will fail.")
	v.token = t.Name
	return v.refuse(ctx, AuthOTPAlreadyUsed, true)
}

// acceptOTP accepts a one-time login and opens its sessions.
func (v *verification) acceptOTP(ctx context.Context, t Token) (bool, error) {
	code, kind := AuthOKOTP, KindOTP
	if v.trusted() {
		code, kind = AuthOKTrustPW, KindTrust
	}
	if _, err := v.accept(ctx, code, kind, t); err != nil {
		return true, err
	}
	return true, v.openSessions(ctx, t)
}
