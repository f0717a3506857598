package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// OTPmeDirectory is what the OTPme step needs besides the engine: which
// OTPme user a bind DN belongs to, and which client a connection is.
type OTPmeDirectory interface {
	// UserByBindDN returns the OTPme user whose directory account is dn
	// (compared canonically); ok is false if there is none.
	UserByBindDN(ctx context.Context, dn string) (u otpme.User, ok bool, err error)
	// ResemblesBindDN reports whether dn may name an OTPme user's account
	// under another spelling (slapd takes types by alias or OID, full-width
	// letters and more for the same entry): its values are those of a
	// user's bind DN (resembles), or of one whose entry could not be
	// loaded (broken).
	ResemblesBindDN(ctx context.Context, dn string) (resembles, broken bool, err error)
	// MatchClient returns the client a request comes from, "" for none.
	MatchClient(ctx context.Context, m ClientMatch) (string, error)
}

// ClientMatch is what identifies a client, tried in this order: the
// dc=<client> marker RDN of the bind DN (OTPme's convention), the TLS
// client certificate's subject, the listener, the source address.
type ClientMatch struct {
	Marker      string // only this is tried when set: does a client of that name exist?
	CertSubject string
	Listener    string
	IP          string
}

// otpmeVerifier decides binds of OTPme users with the OTPme engine.
type otpmeVerifier struct {
	engine          *otpme.Engine
	dir             OTPmeDirectory
	oath            *otpVerifier
	serviceDN       string
	servicePassword Secret
}

// verifyOTPme hands binds of OTPme users to the OTPme engine: clients,
// access groups, sessions, locking, device tokens, mOTP, SLP and CTP. A
// bind DN that belongs to no OTPme user goes on to the slapo-otp steps.
// Logins that did not check a directory password (static device
// passwords, mOTP, sessions, client trust passwords) leave the client's
// upstream connection bound as the service account, acting for the user
// with the proxied-authorization control (RFC 4370).
func verifyOTPme(v *otpmeVerifier) BindStep {
	return func(next BindHandler) BindHandler {
		return BindFunc(func(ctx context.Context, req *BindRequest) BindResponse {
			if v == nil {
				return next.Bind(ctx, req)
			}
			client, err := v.stripMarker(ctx, req)
			if err != nil {
				return v.unavailable(req, err)
			}
			u, ok, err := v.dir.UserByBindDN(ctx, req.DN)
			if err == nil && !ok {
				u, ok, err = v.respelled(ctx, req)
			}
			switch {
			case errors.Is(err, errRespelled):
				req.Event = "AUTH_FAILED"
				req.fail(err, "otpme user lookup")
				return invalidCredentials
			case err != nil:
				return v.unavailable(req, err)
			case !ok:
				return next.Bind(ctx, req)
			}
			return v.decide(ctx, req, u, client)
		})
	}
}

// errRespelled: a bind DN that may name an OTPme user's account under
// another spelling, which cannot be resolved; the bind is refused.
var errRespelled = errors.New("refused")

// respelled finds the OTPme user of a bind DN spelled otherwise than the
// user's otpmeBindDN. A DN whose values resemble an OTPme user's bind DN
// is read with the service account, and slapd's own spelling of it is
// looked up. If it cannot be read, or resembles the bind DN of a user
// entry that could not be loaded, the bind is refused: whether the second
// factor is asked for must not depend on how the DN is spelled.
func (v *otpmeVerifier) respelled(ctx context.Context, req *BindRequest) (otpme.User, bool, error) {
	resembles, broken, err := v.dir.ResemblesBindDN(ctx, req.DN)
	switch {
	case err != nil:
		return otpme.User{}, false, err
	case broken:
		return otpme.User{}, false, fmt.Errorf("%w: %q may be the bind DN of an OTPme user whose entry is invalid (see the log of the OTPme objects)", errRespelled, req.DN)
	case !resembles:
		return otpme.User{}, false, nil
	}
	e, err := v.oath.dir.Read(ctx, req.DN, []string{"1.1"})
	switch {
	case errors.Is(err, ErrNoSuchEntry), errors.Is(err, ErrInvalidDN):
		return otpme.User{}, false, fmt.Errorf("%w: %q resembles an OTPme user's bind DN and the service account cannot read it: %w", errRespelled, req.DN, err)
	case err != nil:
		return otpme.User{}, false, err
	}
	req.trace("bind DN resembles an OTPme user's; the directory names it", "entry", e.DN)
	return v.dir.UserByBindDN(ctx, e.DN)
}

func (v *otpmeVerifier) unavailable(req *BindRequest, err error) BindResponse {
	req.Event = "AUTH_FAILED"
	req.fail(err, "otpme decision for %q", req.DN)
	return unavailable
}

// stripMarker removes a dc=<client> marker RDN (the second RDN of the bind
// DN, naming a known client) and returns that client.
func (v *otpmeVerifier) stripMarker(ctx context.Context, req *BindRequest) (string, error) {
	dn, err := ldap.ParseDN(req.DN)
	if err != nil || len(dn.RDNs) < 3 || len(dn.RDNs[1].Attributes) != 1 ||
		!strings.EqualFold(dn.RDNs[1].Attributes[0].Type, "dc") {
		return "", nil
	}
	name := dn.RDNs[1].Attributes[0].Value
	client, err := v.dir.MatchClient(ctx, ClientMatch{Marker: name})
	if err != nil || client == "" {
		return "", err
	}
	dn.RDNs = append(dn.RDNs[:1], dn.RDNs[2:]...)
	req.DN = dn.String()
	req.trace("client marker stripped", "client", client)
	return client, nil
}

// decide runs the engine for an OTPme user and answers.
func (v *otpmeVerifier) decide(ctx context.Context, req *BindRequest, u otpme.User, client string) BindResponse {
	if client == "" {
		var err error
		if client, err = v.dir.MatchClient(ctx, ClientMatch{CertSubject: req.CertSubject, Listener: req.Listener, IP: hostOf(req.Peer)}); err != nil {
			return v.unavailable(req, err)
		}
	}
	ov := &bindOATH{v: v.oath, req: req}
	res, err := v.engine.Verify(context.WithValue(ctx, bindOATHKey{}, ov), otpme.Request{User: u.Name,
		Password: otpme.Secret(req.Password.Bytes()), Client: client, ClientIP: hostOf(req.Peer),
		Trace: req.Log.Enabled(ctx, slog.LevelDebug)})
	for _, line := range res.Trace {
		req.trace("otpme", "line", line)
	}
	req.Event = string(res.Event.Code)
	req.Detail = res.Event.String()
	if err != nil {
		return v.unavailable(req, err)
	}
	if !res.OK {
		return invalidCredentials
	}
	if ov.bound {
		return BindResponse{Code: Success}
	}
	return v.actAs(ctx, req)
}

// actAs binds the client's upstream connection as the service account and
// makes every later operation carry the proxied-authorization control for
// the user. A connection still bound as the service account from the
// client's previous login (a mail server re-binding on its connection) is
// not bound again.
func (v *otpmeVerifier) actAs(ctx context.Context, req *BindRequest) BindResponse {
	if b, ok := req.Upstream.(interface{ BoundAs(string) bool }); ok && b.BoundAs(v.serviceDN) {
		req.trace("upstream connection still bound as the service account")
		req.ActAs = "dn:" + req.DN
		return BindResponse{Code: Success}
	}
	resp, err := req.Upstream.Bind(ctx, req.ID, v.serviceDN, v.servicePassword, nil)
	if err != nil || resp.Code != Success {
		req.fail(fmt.Errorf("%v %w", resp.Code, err), "bind upstream as the service account for %q", req.DN)
		return unavailable
	}
	req.ActAs = "dn:" + req.DN
	return BindResponse{Code: Success}
}

// OATHFromBind is the engine's OATHVerifier: it hands each check to the
// bindOATH of the bind being decided, found in the context.
type OATHFromBind struct{}

type bindOATHKey struct{}

// VerifyOATH implements otpme.OATHVerifier.
func (OATHFromBind) VerifyOATH(ctx context.Context, tok otpme.Token, password otpme.Secret) (bool, error) {
	b, ok := ctx.Value(bindOATHKey{}).(*bindOATH)
	if !ok {
		return false, errors.New("otpme: OATH token checked outside a bind")
	}
	return b.VerifyOATH(ctx, tok, password)
}

// bindOATH is the OATH check of one bind: slapo-otp's check of
// one token, the compare-and-swap commit and the upstream bind with the
// static part, all as in the slapo-otp path.
type bindOATH struct {
	v     *otpVerifier
	req   *BindRequest
	bound bool // the upstream connection is bound as the user
}

// VerifyOATH implements otpme.OATHVerifier.
func (b *bindOATH) VerifyOATH(ctx context.Context, tok otpme.Token, password otpme.Secret) (bool, error) {
	kind := schema.HOTP
	if tok.Type == otpme.TokenTOTP {
		kind = schema.TOTP
	}
	req := *b.req
	req.Password = NewSecret(password)
	m, err := b.v.try(ctx, &req, tok.DN, kind)
	switch {
	case errors.Is(err, ErrUnavailable):
		return false, err
	case err != nil || m == nil:
		return false, nil
	}
	resp := b.v.commit(ctx, &req, m, BindFunc(upstreamBind))
	switch {
	case resp.Code == Success:
		b.bound = true
		return true, nil
	case req.Event == "AUTH_OTP_ALREADY_USED":
		return false, fmt.Errorf("token %q: %w", tok.DN, otpme.ErrOTPUsed)
	case resp.Code == Unavailable:
		return false, fmt.Errorf("token %q: %w", tok.DN, req.Err)
	}
	return false, nil
}
