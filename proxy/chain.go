package proxy

import "github.com/ldapotp/ldapotp/schema"

// The simple-bind pipeline, outermost step first. This file is the one
// place that says in which order a bind is handled; each step lives in its
// own file and does one thing:
//
//  1. requireTLS  – no bind in the clear when require_tls is set.
//  2. limitRate   – bind attempts per source address and per DN.
//  3. checkShape  – anonymous, unauthenticated (DN, no password), SASL and
//     version rules, answered exactly as slapd answers them.
//  4. verifyOTPme – when OTPme is configured and the bind DN belongs to an
//     OTPme user: client, access group, tokens, sessions, locking, SLP and
//     CTP decided by the OTPme engine (OATH tokens checked as in 6).
//  5. lookupUser  – is this an OTP user? Answered by the user index when it
//     can (userindex.go), else by reading the bind DN's entry with the
//     service account.
//  6. verifyOTP   – for an OTP user: split the credential, check the code
//     against the TOTP then the HOTP token (slapo-otp's order), commit the
//     new counter with a compare-and-swap modify while handing the static
//     part on (both must succeed).
//  7. upstreamBind (the end of the chain) – bind as the user on the
//     client's own upstream connection; its answer passes through.
//
// What happens after the answer (one event line, the upstream connection
// made anonymous again unless the answer is success) is done once, at the
// edge, in conn.go.
func (s *Server) bindChain() BindHandler {
	oath := &otpVerifier{dir: s.dir, drift: s.cfg.TOTPDrift, params: newParamsCache(s.dir, s.cfg.ParamsCacheTTL, s.now),
		tokens: newEntryCache(s.dir, schema.TokenAttributes, s.cfg.TokenCacheTTL, s.now)}
	var otpmeV *otpmeVerifier
	if s.otpmeEngine != nil {
		otpmeV = &otpmeVerifier{engine: s.otpmeEngine, dir: s.otpmeDir, oath: oath,
			serviceDN: s.cfg.ServiceDN, servicePassword: s.cfg.ServicePassword}
	}
	steps := []BindStep{
		requireTLS(s.cfg.RequireTLS),
		limitRate(s.cfg.BindRatePerIP, s.cfg.BindRatePerDN, s.now),
		checkShape(s.cfg.AllowAnonymous),
		verifyOTPme(otpmeV),
		lookupUser(s.index, s.dir),
		verifyOTP(oath),
	}
	var h BindHandler = BindFunc(upstreamBind)
	for i := len(steps) - 1; i >= 0; i-- {
		h = steps[i](h)
	}
	return h
}
