package proxy

import (
	"context"
	"errors"

	"github.com/ldapotp/ldapotp/schema"
)

// lookupUser learns whether the bind DN is an OTP user and records its
// entry in req.User: from the user index when it can tell (nil: no OTP
// user), else by reading the entry with the service account. As in
// slapo-otp, a DN without an entry is not intercepted: the bind goes on and
// the upstream answers it (49, or success for a rootdn that has no entry).
// An unreachable directory refuses the bind.
func lookupUser(index *userIndex, dir Directory) BindStep {
	return func(next BindHandler) BindHandler {
		return BindFunc(func(ctx context.Context, req *BindRequest) BindResponse {
			if index != nil {
				if u, ok := index.lookup(req.DN); ok {
					req.User = u
					req.trace("user index", "otp_user", u != nil && u.IsOTPUser)
					return next.Bind(ctx, req)
				}
			}
			e, err := dir.Read(ctx, req.DN, schema.UserAttributes)
			switch {
			case errors.Is(err, ErrNoSuchEntry), errors.Is(err, ErrInvalidDN):
				req.trace("no entry visible to the service account: not intercepted", "err", err)
				return next.Bind(ctx, req)
			case err != nil:
				req.Event = "AUTH_FAILED"
				req.fail(err, "read user %q", req.DN)
				return unavailable
			}
			u := schema.DecodeUser(e)
			req.User = &u
			req.trace("user entry read", "otp_user", u.IsOTPUser, "totp_token", u.TOTPToken, "hotp_token", u.HOTPToken)
			return next.Bind(ctx, req)
		})
	}
}

// upstreamBind is the end of the chain: the directory's own simple bind, as
// the user, on the client's upstream connection. Its answer passes through
// verbatim; an upstream that cannot be reached gives unavailable.
func upstreamBind(ctx context.Context, req *BindRequest) BindResponse {
	resp, err := req.Upstream.Bind(ctx, req.ID, req.DN, req.Password, req.Controls)
	if err != nil {
		req.fail(err, "upstream bind %q", req.DN)
		return unavailable
	}
	return resp
}
