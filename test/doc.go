// Package test holds ldapotp's integration, differential and load tests.
// Every test here runs against real slapd instances started by
// test/slapdtest on free loopback ports; slapd's own slapo-otp overlay
// (the "oracle") is the reference for the differential suite.
package test
