package slapdtest

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatalf and Skipf instead of
// stopping the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Fatalf(f string, a ...any) { r.fatal = fmt.Sprintf(f, a...) }
func (r *recorder) Skipf(f string, a ...any)  { r.skip = fmt.Sprintf(f, a...) }

func TestRequire_Missing(t *testing.T) {
	reason := errors.New("slapd is not installed")
	tests := []struct {
		ci                  string
		wantFatal, wantSkip string
	}{
		{ci: "true", wantFatal: "slapd missing under CI"},
		{ci: "1", wantFatal: "slapd missing under CI"},
		{ci: "", wantSkip: "apt-get install -y slapd"},
		{ci: "false", wantSkip: "apt-get install -y slapd"},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			missing(r, reason)
			if !strings.Contains(r.fatal, tt.wantFatal) || !strings.Contains(r.skip, tt.wantSkip) ||
				(tt.wantFatal == "") != (r.fatal == "") || (tt.wantSkip == "") != (r.skip == "") {
				t.Errorf("missing() fatal=%q skip=%q, want fatal %q skip %q", r.fatal, r.skip, tt.wantFatal, tt.wantSkip)
			}
		})
	}
}

func TestModuleRoot(t *testing.T) {
	root := ModuleRoot(t)
	if !exists(filepath.Join(root, "go.mod")) || !exists(filepath.Join(root, "test", "slapdtest")) {
		t.Errorf("ModuleRoot() = %s, not this repository's root", root)
	}
	if p := FreePort(t); p <= 0 || p > 65535 {
		t.Errorf("FreePort() = %d", p)
	}
}
