// Command load drives LDAP load against a directory or the ldapotp proxy on
// the loopback interface and reports binds/s, latency percentiles and errors
// by result code, ending with one machine-readable RESULT line:
//
//	go run ./test/load -url ldap://127.0.0.1:1389 -users users.jsonl \
//	    -mode hotp-bind -c 8 -d 10s -conn persistent
//
// Modes: plain-bind (simple binds of users without OTP), hotp-bind and
// totp-bind (static password + a fresh valid code every time), search
// (base searches on a connection bound once), session-rebind (OTPme
// sessions; refused until they exist). Connections are per worker
// (persistent) or one per bind (per-bind).
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
