// Package oath is the OTP math and verification policy of ldapotp, with
// exactly the semantics of OpenLDAP's slapo-otp 2.5 overlay: HOTP (RFC 4226)
// and TOTP (RFC 6238) codes, the HMAC algorithm chosen by its RFC 8018 OID,
// 1 to 8 digits, the HOTP look-ahead, the TOTP window with its visiting order
// and drift, the replay rules and the split of a simple-bind credential into
// static password and code.
//
// The package does no I/O and keeps no state: callers pass in what the token
// entry says (secret, last counter or time step, drift) and the current time,
// and get back the new state a successful check produces, which they are
// responsible for writing back (with a compare-and-swap, see DESIGN.md).
//
// Every candidate of a window is computed and compared in constant time
// (crypto/subtle), with no early exit, so the time a check takes does not
// depend on which candidate, if any, matched.
//
// Deviations from slapo-otp, all on values that make slapo-otp crash or loop
// for hours: a TOTP period <= 0, a look-ahead above MaxLookAhead and a window
// above MaxWindow are rejected by Validate and never match; counter and step
// arithmetic that would overflow int64 skips the affected candidates.
//
// oath may import only the standard library.
package oath
