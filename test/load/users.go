package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Kind is what a load user is: a plain directory user or an OTP user with
// one token.
type Kind string

// The kinds of load users.
const (
	KindPlain Kind = "plain"
	KindHOTP  Kind = "hotp"
	KindTOTP  Kind = "totp"
)

// User is one load user: everything a worker needs to bind as it. Tokens
// are SHA-1 (oathHMACAlgorithm 1.2.840.113549.2.7), as slapo-otp is
// usually set up.
type User struct {
	DN       string `json:"dn"`
	Password string `json:"password"`         // the static password
	Kind     Kind   `json:"kind"`             // plain, hotp or totp
	Token    string `json:"token,omitempty"`  // DN of the token entry
	Secret   string `json:"secret,omitempty"` // the token's key, hex
	Digits   int    `json:"digits,omitempty"` // code length
	// Next is the HOTP counter of the next code to send (0 for a fresh
	// token: slapo-otp accepts counter 0 first).
	Next int64 `json:"next"`
	// Period is the TOTP step in seconds.
	Period int64 `json:"period,omitempty"`
	// MOTPSecret and MOTPPIN are the user's OTPme mOTP token, for the
	// session-rebind mode (the user is an OTPme user whose bind DN is DN,
	// in an access group with sessions on); empty for other users.
	MOTPSecret string `json:"motp_secret,omitempty"`
	MOTPPIN    string `json:"motp_pin,omitempty"`

	key      []byte // Secret, decoded
	lastStep int64  // TOTP: the step of the last code sent, -1 for none
	// session is the password of the user's open OTPme session (the mOTP
	// code that opened it), nil until OpenSessions opened one.
	session []byte
}

// SessionUsers returns the users with an mOTP token (those the
// session-rebind mode binds as), in order.
func SessionUsers(users []*User) []*User {
	var out []*User
	for _, u := range users {
		if u.MOTPSecret != "" {
			out = append(out, u)
		}
	}
	return out
}

// Layout says where load users, tokens and params entries live; the
// defaults are those of examples/slapd/base.ldif.
type Layout struct {
	People string // users
	Tokens string // token entries
	Params string // params entries
	Prefix string // makes the names of one batch unique, e.g. "load"
}

// DefaultLayout is the test directory's layout (dc=example,dc=com).
var DefaultLayout = Layout{
	People: "ou=people,dc=example,dc=com",
	Tokens: "ou=tokens,dc=example,dc=com",
	Params: "ou=params,dc=example,dc=com",
	Prefix: "load",
}

// ParamsDN is the DN of the one params entry all tokens of kind share.
func (l Layout) ParamsDN(kind Kind) string {
	return fmt.Sprintf("cn=%s-%s-params,%s", l.Prefix, kind, l.Params)
}

// Counts says how many users of each kind to make.
type Counts struct {
	Plain, HOTP, TOTP int
	TOTPPeriod        int64 // seconds; 30 if 0
}

// NewUsers makes users with fresh random 20-byte secrets and 6-digit codes.
// Names are PREFIX-KIND-NNNNN.
func NewUsers(l Layout, n Counts) []*User {
	period := n.TOTPPeriod
	if period == 0 {
		period = 30
	}
	var users []*User
	add := func(kind Kind, count int) {
		for i := range count {
			name := fmt.Sprintf("%s-%s-%05d", l.Prefix, kind, i)
			u := &User{DN: "uid=" + name + "," + l.People, Password: "pw-" + name, Kind: kind}
			if kind != KindPlain {
				u.Token, u.Digits = "cn="+name+","+l.Tokens, 6
				u.key = make([]byte, 20)
				_, _ = rand.Read(u.key) // crypto/rand.Read never fails (Go 1.24+)
				u.Secret = hex.EncodeToString(u.key)
			}
			if kind == KindTOTP {
				u.Period = period
			}
			u.lastStep = -1
			users = append(users, u)
		}
	}
	add(KindPlain, n.Plain)
	add(KindHOTP, n.HOTP)
	add(KindTOTP, n.TOTP)
	return users
}

// OfKind returns the users of one kind, in order.
func OfKind(users []*User, kind Kind) []*User {
	var out []*User
	for _, u := range users {
		if u.Kind == kind {
			out = append(out, u)
		}
	}
	return out
}

// ReadUsers reads a users file: one JSON User a line.
func ReadUsers(path string) ([]*User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer f.Close()
	return decodeUsers(f, path)
}

func decodeUsers(r io.Reader, name string) ([]*User, error) {
	var users []*User
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		u := &User{lastStep: -1}
		if err := json.Unmarshal(sc.Bytes(), u); err != nil {
			return nil, fmt.Errorf("users file %s line %d: %w", name, line, err)
		}
		if err := u.check(); err != nil {
			return nil, fmt.Errorf("users file %s line %d: %w", name, line, err)
		}
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read users file %s: %w", name, err)
	}
	return users, nil
}

// check validates a user read from a file and decodes its secret.
func (u *User) check() error {
	switch {
	case u.DN == "" || u.Password == "":
		return fmt.Errorf("user %q: dn and password are required", u.DN)
	case (u.MOTPSecret == "") != (u.MOTPPIN == ""):
		return fmt.Errorf("user %q: motp_secret and motp_pin go together", u.DN)
	case u.Kind == KindPlain:
		return nil
	case u.Kind != KindHOTP && u.Kind != KindTOTP:
		return fmt.Errorf("user %q: kind %q is not plain, hotp or totp", u.DN, u.Kind)
	case u.Digits < 1 || u.Digits > 8:
		return fmt.Errorf("user %q: digits %d is not 1..8", u.DN, u.Digits)
	case u.Kind == KindTOTP && u.Period < 1:
		return fmt.Errorf("user %q: TOTP period %d is not >= 1", u.DN, u.Period)
	}
	key, err := hex.DecodeString(u.Secret)
	if err != nil || len(key) == 0 {
		return fmt.Errorf("user %q: secret is not hex", u.DN)
	}
	u.key = key
	return nil
}

// WriteUsers writes the users file (replacing it whole), with the current
// HOTP counters.
func WriteUsers(path string, users []*User) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".users-*")
	if err != nil {
		return fmt.Errorf("write users: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	for _, u := range users {
		if err := enc.Encode(u); err != nil {
			tmp.Close()
			return fmt.Errorf("write users %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write users %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write users %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write users %s: %w", path, err)
	}
	return nil
}
