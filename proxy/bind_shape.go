package proxy

import "context"

// maxCredential bounds bind DNs and passwords; nothing longer can be right.
const maxCredential = 64 << 10

// checkShape answers the binds slapd's front end answers before any
// database or overlay sees them (servers/slapd/bind.c), so that they never
// reach the OTP logic and an unauthenticated bind can never pass upstream
// as a "successful" one:
//
//   - LDAP version other than 3: protocolError;
//   - SASL: authMethodNotSupported (SASL would bypass the second factor);
//   - DN with an empty password (RFC 4513 §5.1.2): unwillingToPerform;
//   - empty DN with a password: invalidCredentials;
//   - anonymous (both empty): passed on if allowAnonymous, else
//     inappropriateAuthentication;
//   - a DN or password longer than maxCredential (64 KiB): invalidDNSyntax
//     or invalidCredentials, without asking the directory (slapd drops an
//     anonymous connection that sends a request over 256 KiB).
func checkShape(allowAnonymous bool) BindStep {
	return func(next BindHandler) BindHandler {
		return BindFunc(func(ctx context.Context, req *BindRequest) BindResponse {
			switch {
			case req.Version != 3:
				req.Event = "AUTH_FAILED"
				return BindResponse{Code: ProtocolError, Message: "requested protocol version not supported"}
			case req.SASL != "":
				req.Event = "AUTH_FAILED"
				return BindResponse{Code: AuthMethodNotSupported, Message: "SASL binds are not supported by this proxy"}
			case len(req.DN) > maxCredential:
				req.Event = "AUTH_FAILED"
				return BindResponse{Code: InvalidDNSyntax, Message: "invalid DN"}
			case req.Password.Len() > maxCredential:
				req.Event = "AUTH_FAILED"
				return invalidCredentials
			case req.DN != "" && req.Password.Empty():
				req.Event = "AUTH_FAILED"
				return BindResponse{Code: UnwillingToPerform, Message: "unauthenticated bind (DN with no password) disallowed"}
			case req.DN == "" && !req.Password.Empty():
				req.Event = "AUTH_FAILED"
				return invalidCredentials
			case req.DN == "" && !allowAnonymous:
				req.Event = "AUTH_FAILED"
				return BindResponse{Code: InappropriateAuthentication, Message: "anonymous bind disallowed"}
			case req.DN == "":
				req.Event = "AUTH_ANONYMOUS"
				return upstreamBind(ctx, req)
			}
			return next.Bind(ctx, req)
		})
	}
}
