package main

import (
	"context"
	"fmt"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/proxy"
)

// cliOATH is the OATHVerifier of "auth verify": the proxy's own check of an
// HOTP or TOTP token (proxy.OATHCheck — slapo-otp's split and window, the
// code spent with a compare-and-swap modify, then the static part bound as
// the user's entry), so the command line decides exactly as a bind would.
type cliOATH struct {
	a     *admin
	check *proxy.OATHCheck
}

// VerifyOATH implements otpme.OATHVerifier.
func (v cliOATH) VerifyOATH(ctx context.Context, tok otpme.Token, password otpme.Secret) (bool, error) {
	u, err := v.a.objs.User(ctx, tok.User)
	if err != nil {
		return false, fmt.Errorf("user of token %s: %w", tok.Name, err)
	}
	if u.BindDN == "" {
		return false, nil
	}
	return v.check.Check(ctx, tok, u.BindDN, password)
}
