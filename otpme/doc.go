// Package otpme is the OTPme policy engine of ldapotp: it decides whether a
// login (user, password, calling client) is accepted, with the semantics of
// the OTPme step-by-step guide — clients and their access group, access
// groups with child groups, child sessions and a session master, per-token
// access groups, users' status and failed-login locking counted once per
// distinct wrong password, OTP sessions (re-use of a one-time code until
// timeout, unused timeout or max_login), static device passwords, mOTP
// tokens, the session logout password (SLP) and the client trust password
// (CTP), and one AUTH_* event per verification with the decision trace.
//
// The engine keeps no state of its own but locks that run the
// verifications of one user one at a time. It reads the configuration an
// administrator edits (users, tokens, groups, clients) through Objects, and
// keeps what changes with every login (sessions, fail counters, used codes)
// in a Store that several proxies may share; every Store write that must be
// atomic across proxies is one Store method. OATH HOTP/TOTP tokens are
// verified by the caller through OATHVerifier, because their counters live
// in the directory and are spent with the proxy's compare-and-swap. mOTP and
// static-password tokens are verified here. The clock is injected.
//
// Passwords, codes and secrets travel as Secret and never appear in an
// error, an event line or the trace. Secrets are compared in constant time.
// docs/otpme.md describes the model, every rule with its event code, the SLP
// and CTP derivations and how sessions are stored.
//
// otpme may import only the standard library and, of this module,
// github.com/ldapotp/ldapotp/oath and github.com/ldapotp/ldapotp/schema.
// Its sub-package storetest is the Store conformance suite.
package otpme
