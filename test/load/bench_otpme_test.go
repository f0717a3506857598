//go:build bench

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// OTPme set-up of the bench: the plain users of a directory become OTPme
// users (bind DN = their entry) with an mOTP token each, in one access
// group with sessions on (max_login 0 = unlimited, timeout 30 min, unused
// 5 min: the defaults), reached through one client matched by the source
// address 127.0.0.0/8.
const (
	otpmeBase   = "ou=otpme,dc=example,dc=com"
	otpmeGroup  = "bench-mail"
	otpmeClient = "bench-imap"
	// authzPolicy lets slapd honour the proxied-authorization control
	// that session logins (no directory password checked) put on the
	// service account's operations.
	authzPolicy = "authz-policy to"
)

// allowProxyAuthz lets the service account act for the users.
func allowProxyAuthz(t *testing.T, s *slapdtest.Server) {
	t.Helper()
	req := ldap.NewModifyRequest(s.ServiceDN, nil)
	req.Add("authzTo", []string{"dn.subtree:ou=people,dc=example,dc=com"})
	if err := s.Admin(t).Modify(req); err != nil {
		t.Fatalf("authzTo on %s: %v", s.ServiceDN, err)
	}
}

// setupOTPme writes the OTPme objects for users into s under otpmeBase
// with one Edit, as an admin would (`ldapotp user add …`), and returns
// copies of the users carrying each one's new mOTP token (16 hex
// characters, a 4-digit PIN).
func setupOTPme(t *testing.T, s *slapdtest.Server, users []*User) []*User {
	t.Helper()
	target, err := proxy.ParseTarget(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	admin := proxy.NewDirObjects(proxy.ServiceObjectDirectory(proxy.NewServiceDirectory(target, s.ServiceDN,
		proxy.NewSecret([]byte(s.ServicePassword)), 1, 30*time.Second)), otpmeBase, time.Second, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	out := make([]*User, len(users))
	for i, u := range users {
		c := *u
		key := make([]byte, 8)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
		pin, _ := rand.Int(rand.Reader, big.NewInt(10000))
		c.MOTPSecret, c.MOTPPIN, c.session = hex.EncodeToString(key), fmt.Sprintf("%04d", pin), nil
		out[i] = &c
	}
	ctx := t.Context()
	err = admin.Edit(ctx, func(m *otpme.MemObjects) error {
		steps := []func() error{
			func() error { return m.AddGroup(ctx, otpmeGroup) },
			func() error { return m.SetGroupSessions(ctx, otpmeGroup, true) },
			func() error { return m.AddClient(ctx, otpmeClient) },
			func() error { return m.SetClientAccessGroup(ctx, otpmeClient, otpmeGroup) },
			func() error { return m.AddClientAddress(ctx, otpmeClient, "127.0.0.0/8") },
		}
		for _, u := range out {
			name := rdnValue(u.DN)
			steps = append(steps,
				func() error { return m.AddUser(ctx, name) },
				func() error { return m.SetUserBindDN(ctx, name, u.DN) },
				func() error {
					return m.AddMOTPToken(ctx, name, "phone", otpme.Secret(u.MOTPSecret), otpme.Secret(u.MOTPPIN))
				},
				func() error { return m.TokenAddGroup(ctx, name, "phone", otpmeGroup) })
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("otpme objects in %s: %v", s.URL, err)
	}
	return out
}

// otpmeProxyConfig is the configuration an OTPme proxy adds to
// proxyConfig: otpme_base, and for the directory store a key file.
func otpmeProxyConfig(t *testing.T, b *bench, name, store string) string {
	t.Helper()
	conf := "otpme_base: " + otpmeBase + "\n"
	if store == "directory" {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		path := filepath.Join(b.out, name+".key")
		if err := os.WriteFile(path, key, 0o600); err != nil {
			t.Fatal(err)
		}
		conf += "store: directory\notpme_key_file: " + path + "\n"
	}
	return conf
}

// otpmeEndpoints turns d's plain users into OTPme users and starts two
// OTPme proxies in front of d: one with the memory store (the default),
// one with the directory store. Each endpoint has its own copies of the
// users, so that each opens its own sessions. d's slapd must have been
// started with authzPolicy.
func (b *bench) otpmeEndpoints(t *testing.T, d *directory) (mem, dir endpoint) {
	t.Helper()
	start := time.Now()
	allowProxyAuthz(t, d.srv)
	users := setupOTPme(t, d.srv, OfKind(d.users, KindPlain))
	b.printf("  %-22s %5d OTPme users (mOTP token, group %s with sessions, client by 127.0.0.0/8) in %.1fs\n",
		"slapd "+otpmeBase, len(users), otpmeGroup, time.Since(start).Seconds())
	pm := startProxy(t, b, "proxy-otpme", d.srv, otpmeProxyConfig(t, b, "proxy-otpme", "memory"))
	pd := startProxy(t, b, "proxy-otpme-dirstore", d.srv, otpmeProxyConfig(t, b, "proxy-otpme-dirstore", "directory"))
	b.printf("  %-22s %s  otpme_base, store: memory\n", "proxy-otpme", pm.url)
	b.printf("  %-22s %s  otpme_base, store: directory\n", "proxy-otpme-dirstore", pd.url)
	mem = endpoint{name: "proxy-otpme", url: pm.url, proxyPID: pm.pid(), slapdPID: d.pid, users: users}
	dir = endpoint{name: "proxy-otpme-dirst", url: pd.url, proxyPID: pd.pid(), slapdPID: d.pid, users: cloneUsers(users)}
	return mem, dir
}

// cloneUsers copies users, without their sessions.
func cloneUsers(users []*User) []*User {
	out := make([]*User, len(users))
	for i, u := range users {
		c := *u
		c.session = nil
		out[i] = &c
	}
	return out
}

// censusOTPme adds the OTPme rows to the census: the mOTP login that opens
// a session and the session re-bind, through an OTPme proxy with each
// store. s must have been started with authzPolicy.
func (b *bench) censusOTPme(ctx context.Context, t *testing.T, s *slapdtest.Server, plain []*User) {
	allowProxyAuthz(t, s)
	users := setupOTPme(t, s, plain)
	for _, store := range []string{"memory", "directory"} {
		name := "proxy-census-otpme-" + store
		p := startProxy(t, b, name, s, otpmeProxyConfig(t, b, name, store))
		us := cloneUsers(users)
		mark := len(settledLog(s))
		if err := OpenSessions(ctx, p.url, us, 1); err != nil {
			t.Fatalf("census %s: %v", name, err)
		}
		b.censusRow("session open, "+store, settledLog(s)[mark:], int64(len(us)))
		for _, conn := range []ConnMode{Persistent, PerBind} {
			mark := len(settledLog(s))
			res, err := Run(ctx, Config{URL: p.url, Mode: ModeSessionRebind, Conn: conn, Concurrency: 1,
				Duration: 30 * time.Second, MaxOps: censusOps}, us)
			if err != nil || res.OK == 0 || res.ErrorCount() > 0 {
				t.Fatalf("census session-rebind %s %s: %v (%d ok, errors: %s)", store, conn, err, res.OK, res.errorSummary())
			}
			b.censusRow(fmt.Sprintf("session hit %s, %s", conn, store), settledLog(s)[mark:], res.OK)
		}
		p.stop()
	}
}
