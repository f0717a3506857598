package otpme_test

import (
	"testing"

	"github.com/ldapotp/ldapotp/otpme/guidetest"
)

// TestWalkthrough replays the OTPme guide command by command through
// MemObjects and one Engine (guidetest.InProcess): every Accept/Reject
// with its AUTH_* code and fields, the -d trace lines and the show tables.
// test/walkthrough_test.go runs the same walk through the LDAP proxy.
func TestWalkthrough(t *testing.T) {
	n := guidetest.Run(t, guidetest.NewInProcess(t))
	t.Logf("%d of the guide's %d commands reproduced, %d not: %v", n, guidetest.GuideCommands,
		len(guidetest.NotReproduced), guidetest.NotReproduced)
}
