// Package guidetest is the OTPme step-by-step guide
// (seeds/000_531bf71bd1273e62.txt) as a test: Run replays the guide's
// commands in order and checks every result it shows — each Accept/Reject
// with its AUTH_* code and fields, the -d trace lines, the show tables —
// against a Backend. The walk is written once; the backends say where a
// verification goes: InProcess calls an otpme.Engine directly (the
// otpme package's TestWalkthrough), the integration test in test/ binds
// through the LDAP proxy from one loopback address per guide client.
//
// guidetest is test support: it imports testing (like otpme/storetest),
// github.com/stretchr/testify, the standard library and otpme.
package guidetest
