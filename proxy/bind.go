package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ldapotp/ldapotp/schema"
)

// BindRequest is one bind as it moves down the bind chain. The relay fills
// in the request fields; steps may replace Password (the credential the next
// step sees) and record what they decided in the outcome fields.
type BindRequest struct {
	ID       int64     // message ID of the client's BindRequest
	Version  int64     // LDAP version the client asked for
	DN       string    // bind DN as sent by the client
	Password Secret    // simple credential; steps may shorten it
	SASL     string    // SASL mechanism, "" for a simple bind
	Controls []byte    // the request's [0] Controls element as sent, nil if none
	Received time.Time // when the request was read (the OTP clock)
	Peer     net.Addr  // the client's address
	TLS      bool      // the client connection is encrypted
	// CertSubject is the TLS client certificate's subject, "" if none.
	CertSubject string
	Listener    string   // the listener's address as configured
	Upstream    Upstream // the client's own upstream connection
	Log         *slog.Logger

	// Outcome, for the one event line logged per bind.
	User   *schema.User // set once the user entry was read
	Token  string       // DN of the token that matched, if any
	Event  string       // AUTH_* code; "" lets the edge derive it
	Detail string       // the OTPme event line, if the engine decided
	Err    error        // what went wrong, for the operator only
	// ActAs, set on success, makes the connection's later operations carry
	// the proxied-authorization control with this authzId ("dn:…").
	ActAs string
}

// BindResponse is the answer to a bind: an LDAPResult and the response's
// controls. Upstream answers pass through in it unchanged.
type BindResponse = result

// BindHandler handles a simple bind. The contract: Bind returns the answer
// for the client and never writes to the client itself; an error meant for
// the operator goes into req.Err, never into the answer's message.
type BindHandler interface {
	Bind(ctx context.Context, req *BindRequest) BindResponse
}

// BindFunc adapts a function to a BindHandler.
type BindFunc func(ctx context.Context, req *BindRequest) BindResponse

// Bind calls f.
func (f BindFunc) Bind(ctx context.Context, req *BindRequest) BindResponse { return f(ctx, req) }

// BindStep is one link of the bind chain: it decides, answers or hands on
// to next (at most once).
type BindStep func(next BindHandler) BindHandler

// Upstream is what the bind chain needs of the client's own upstream
// connection.
type Upstream interface {
	// Bind sends a simple bind to the upstream on the client's connection
	// and returns the upstream's answer. A non-nil error means the upstream
	// could not be reached or answered garbage.
	Bind(ctx context.Context, id int64, dn string, password Secret, controls []byte) (BindResponse, error)
}

// invalidCredentials is the one answer for every credential failure
// (slapo-otp sends 49 with an empty message).
var invalidCredentials = BindResponse{Code: InvalidCredentials}

// unavailable is the answer when the directory cannot be asked.
var unavailable = BindResponse{Code: Unavailable, Message: "directory unavailable"}

func (r *BindRequest) fail(err error, format string, args ...any) {
	r.Err = fmt.Errorf(format+": %w", append(args, err)...)
}

// trace logs one line of the bind's decision trace at debug level. It
// must never be given a password, code or secret.
func (r *BindRequest) trace(msg string, args ...any) {
	if r.Log.Enabled(context.Background(), slog.LevelDebug) {
		r.Log.Debug(msg, append([]any{"msgid", r.ID, "dn", r.DN}, args...)...)
	}
}
