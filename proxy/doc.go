// Package proxy is the LDAP front end of ldapotp: listeners, per-connection
// state, a message relay that passes every operation it does not handle
// itself unchanged (same message ID, same controls) to the client's own
// upstream connection, the service-account directory client, the user
// index (the directory's OTP users followed by content synchronization),
// and the simple bind pipeline as a chain of small steps (see chain.go for
// their order).
//
// The relay (wire.go, conn.go, upstream.go) knows nothing about OTP: it
// frames LDAP messages, answers what it must answer itself and hands simple
// binds to a BindHandler. The OTP logic lives in the bind steps, which use
// package oath for the math and package schema for the entry layout.
//
// proxy may import oath, schema and otpme, never cmd.
package proxy
