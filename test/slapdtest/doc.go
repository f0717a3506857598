// Package slapdtest starts real OpenLDAP slapd servers for integration
// tests: one slapd per test, on a free 127.0.0.1 port, in t.TempDir(),
// configured with slapd.conf and seeded with examples/slapd/base.ldif and
// the access rules of examples/slapd/acl.conf, so the examples operators
// copy are exactly what the tests run against.
//
// Two kinds of server share that data and those rules: Plain, a stock slapd
// with the OATH-LDAP schema from schema/oath.schema (the directory ldapotp
// sits in front of), and Oracle, a slapd running the slapo-otp overlay
// (module otp.so, which compiles the same schema in), the reference for
// differential tests.
//
// This is a test helper package, and the one place in the module where a
// non-test file imports "testing": every function takes the test's
// testing.TB, fails or skips it, and ties the server's lifetime to it.
// Only test code may import this package.
//
// When slapd is not installed, Start and Require skip the test with the
// install command, except under CI=true, where they fail it: CI must not
// skip the slapd suites.
package slapdtest
