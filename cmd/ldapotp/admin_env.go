package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/proxy"
)

// admin is one run of an admin verb: the parsed flags and, once needed,
// the directory connection, the OTPme objects and the engine.
type admin struct {
	ctx         context.Context
	out, errw   io.Writer
	in          io.Reader
	interactive bool // confirmations may be asked on in

	g globalFlags
	o opts

	cfg adminConfig
	sd  *proxy.ServiceDirectory
	// sdTarget is where sd connects (static passwords are checked there).
	sdTarget proxy.Target
	objs     *proxy.DirObjects
	eng      *otpme.Engine
}

// opts are the verbs' own flags; each verb registers the ones it names.
type opts struct {
	debug        bool
	entry        bool
	digits       int
	algorithm    string
	period       int64
	lookAhead    int
	window       int
	qr           string
	issuer       string
	passwordFile string
	bindDN       string
	clientIP     string
	user         string
}

// optFlags registers each verb flag.
var optFlags = map[string]func(*flag.FlagSet, *opts){
	"debug": func(fs *flag.FlagSet, o *opts) {
		fs.BoolVar(&o.debug, "d", o.debug, "print the decision trace")
		fs.BoolVar(&o.debug, "debug", o.debug, "same as -d")
	},
	"entry":  func(fs *flag.FlagSet, o *opts) { fs.BoolVar(&o.entry, "entry", false, "also delete the uid= entry") },
	"digits": func(fs *flag.FlagSet, o *opts) { fs.IntVar(&o.digits, "digits", 6, "code length: 6 or 8") },
	"algorithm": func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.algorithm, "algorithm", "sha1", "sha1, sha256 or sha512")
	},
	"period":     func(fs *flag.FlagSet, o *opts) { fs.Int64Var(&o.period, "period", 30, "TOTP period, seconds") },
	"look-ahead": func(fs *flag.FlagSet, o *opts) { fs.IntVar(&o.lookAhead, "look-ahead", 3, "HOTP look-ahead") },
	"window":     func(fs *flag.FlagSet, o *opts) { fs.IntVar(&o.window, "window", 1, "TOTP window, steps each way") },
	"qr": func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.qr, "qr", "", "also write the QR code to this PNG file")
	},
	"issuer": func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.issuer, "issuer", "ldapotp", "issuer shown in the app")
	},
	"password-file": func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.passwordFile, "password-file", "", "file with the password to set")
	},
	"bind-dn": func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.bindDN, "bind-dn", "", "use this existing entry as the user's DN")
	},
	"client-ip": func(fs *flag.FlagSet, o *opts) {
		fs.StringVar(&o.clientIP, "client-ip", "", "address the request comes from")
	},
	"user": func(fs *flag.FlagSet, o *opts) { fs.StringVar(&o.user, "user", "", "every session of this user") },
}

// optUsage is each verb flag as the usage shows it.
var optUsage = map[string]string{
	"debug": "-d", "entry": "--entry", "digits": "--digits 6|8", "algorithm": "--algorithm sha1|sha256|sha512",
	"period": "--period 30", "look-ahead": "--look-ahead 3", "window": "--window 1", "qr": "--qr FILE.png",
	"issuer": "--issuer NAME", "password-file": "--password-file FILE", "bind-dn": "--bind-dn DN",
	"client-ip": "--client-ip IP", "user": "--user NAME",
}

// connect loads the configuration and sets up the directory and the
// OTPme objects (nothing is read yet).
func (a *admin) connect() error {
	if a.objs != nil {
		return nil
	}
	cfg, err := a.g.load()
	if err == nil {
		err = cfg.validate()
	}
	if err != nil {
		return usageError{err}
	}
	t, err := cfg.target()
	if err != nil {
		return usageError{err}
	}
	pw, err := readSecretFile(cfg.AdminPasswordFile)
	if err != nil {
		return usageError{fmt.Errorf("admin_password_file: %w", err)}
	}
	timeout := cfg.UpstreamTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	a.cfg = cfg
	a.sd, a.sdTarget = proxy.NewServiceDirectory(t, cfg.AdminDN, proxy.NewSecret(pw), 1, timeout), t
	a.objs = proxy.NewDirObjects(proxy.ServiceObjectDirectory(a.sd), cfg.OTPmeBase, time.Minute, nil, nil)
	return nil
}

// engine returns the OTPme engine over the directory's objects and the
// configured store; it also ends the sessions edits take away.
func (a *admin) engine() (*otpme.Engine, error) {
	if a.eng != nil {
		return a.eng, nil
	}
	if err := a.connect(); err != nil {
		return nil, err
	}
	var store otpme.Store = otpme.NewMemStore()
	key := make(otpme.Secret, otpme.MinKeyLength)
	_, _ = rand.Read(key)
	if a.cfg.Store == "directory" {
		store = proxy.NewDirStore(a.sd, a.cfg.OTPmeBase)
		k, err := os.ReadFile(a.cfg.OTPmeKeyFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("otpme_key_file: %w", err)}
		}
		key = k
	}
	e, err := otpme.New(otpme.Config{Objects: a.objs, Store: store, Key: key, AllowGroupMissing: a.cfg.AllowGroupMissing,
		OATH: cliOATH{a: a, check: proxy.NewOATHCheck(a.sd, a.sdTarget, proxy.DriftMode(a.cfg.TOTPDrift))}})
	if err != nil {
		return nil, usageError{err}
	}
	a.objs.SetRevoker(e)
	a.eng = e
	return e, nil
}

// edit changes the OTPme objects in the directory with f.
func (a *admin) edit(f func(m *otpme.MemObjects) error) error {
	if _, err := a.engine(); err != nil {
		return err
	}
	return a.objs.Edit(a.ctx, func(m *otpme.MemObjects) error { return f(m) })
}

// snapshot reads every OTPme object.
func (a *admin) snapshot() (otpme.Snapshot, error) {
	if err := a.connect(); err != nil {
		return otpme.Snapshot{}, err
	}
	s, err := a.objs.Snapshot(a.ctx)
	if err != nil {
		return s, fmt.Errorf("read OTPme objects under %s: %w", a.cfg.OTPmeBase, err)
	}
	return s, nil
}

// close closes the directory connection.
func (a *admin) close() {
	if a.sd != nil {
		a.sd.Close()
	}
}

// errNotConfirmed: the operator answered no.
var errNotConfirmed = errors.New("not confirmed: nothing changed")

// confirm asks question (after the explanation why) unless -y was given.
// Without -y and without a terminal it refuses: scripts must say -y.
func (a *admin) confirm(why, question string) error {
	if a.g.yes {
		return nil
	}
	if !a.interactive {
		return fmt.Errorf("%s: give -y to confirm (no terminal to ask on)", why)
	}
	fmt.Fprintln(a.out, why)
	fmt.Fprintf(a.out, "%s: ", question)
	line, err := bufio.NewReader(a.in).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("%s: %w", question, errNotConfirmed)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errNotConfirmed
}

// errRejected: auth verify printed Reject (exit 1, no message).
var errRejected = errors.New("rejected")

// exitCode maps a verb's result to the exit status.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	return exitFail
}

// printf writes to stdout.
func (a *admin) printf(format string, args ...any) { fmt.Fprintf(a.out, format, args...) }
