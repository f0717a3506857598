package otpme_test

import (
	"testing"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/otpme/storetest"
)

func TestMemStore_Conformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) otpme.Store { return otpme.NewMemStore() })
}
