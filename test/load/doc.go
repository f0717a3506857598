// Command load drives LDAP load against a directory or the ldapotp proxy on
// the loopback interface and reports binds/s, latency percentiles and errors
// by result code, ending with one machine-readable RESULT line:
//
//	go run ./test/load -url ldap://127.0.0.1:1389 -users users.jsonl \
//	    -mode hotp-bind -c 8 -d 10s -conn persistent
//
// Modes: plain-bind (simple binds of users without OTP), hotp-bind and
// totp-bind (static password + a fresh valid code every time), search
// (base searches on a connection bound once), session-rebind (re-binds
// inside open OTPme sessions). Connections are per worker
// (persistent) or one per bind (per-bind).
//
// session-rebind measures OTPme sessions through the proxy: its users are
// OTPme users (bind DN = the user's dn) with an mOTP token in an access
// group with sessions on, reached through a client the proxy recognises
// (e.g. by the source address 127.0.0.1). The users file gives each one's
// token as motp_secret and motp_pin, or -motp-secret-file and
// -motp-pin-file give one token for all. The tool first logs each user in
// once with the current mOTP code, which opens a session (not measured),
// then measures re-binds with that same code: each is a session hit.
//
// It makes its own users: with -create-hotp/-create-totp/-create-plain it
// adds them to the directory as the admin and writes the users file (one
// JSON object a line, secrets included: test data only). Each worker owns a
// disjoint slice of the users and keeps each HOTP counter in memory, so
// every bind uses the next valid code; the counters are written back to the
// users file after a run. A TOTP user may succeed once per time step, so a
// TOTP run needs rate × period users; the report says how many.
//
// Every run is bounded by -d and -n and only ever talks to a loopback
// address. The `bench` build tag adds TestBench (make bench), which starts
// the directories and the proxy, runs every mode A/B against them and
// writes the comparison that docs/performance.md records.
package main
