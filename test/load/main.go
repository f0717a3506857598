package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the run could not be done (or made errors with -strict)
	exitUsage = 2
)

// options are the command line.
type options struct {
	cfg       Config
	users     string
	create    Counts
	adminDN   string
	adminPW   string // file
	prefix    string
	strict    bool
	searchAtt string
	motpSec   string // file
	motpPIN   string // file
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.cfg.URL, "url", "", "target, ldap://127.0.0.1:PORT (loopback only)")
	fs.StringVar(&o.cfg.Name, "name", "", "target name in the report (default: the URL)")
	mode := fs.String("mode", string(ModeHOTPBind), "plain-bind, hotp-bind, totp-bind, search or session-rebind")
	conn := fs.String("conn", string(Persistent), "persistent (one connection per worker) or per-bind")
	fs.IntVar(&o.cfg.Concurrency, "c", 8, "workers, each with one operation in flight")
	fs.DurationVar(&o.cfg.Duration, "d", 10*time.Second, "duration (at most 10m)")
	fs.Int64Var(&o.cfg.MaxOps, "n", MaxOpsDefault, "stop after this many operations")
	fs.StringVar(&o.searchAtt, "attrs", "cn,sn,uid", "attributes the search mode asks for")
	fs.StringVar(&o.users, "users", "", "users file (JSON lines); written by -create-*, HOTP counters saved after a run")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 if any operation failed")
	fs.StringVar(&o.motpSec, "motp-secret-file", "", "session-rebind: file with the mOTP secret of users without their own motp_secret")
	fs.StringVar(&o.motpPIN, "motp-pin-file", "", "session-rebind: file with the mOTP PIN of users without their own motp_pin")
	fs.IntVar(&o.create.HOTP, "create-hotp", 0, "create this many HOTP users, write -users and exit")
	fs.IntVar(&o.create.TOTP, "create-totp", 0, "create this many TOTP users, write -users and exit")
	fs.IntVar(&o.create.Plain, "create-plain", 0, "create this many plain users, write -users and exit")
	fs.Int64Var(&o.create.TOTPPeriod, "totp-period", 30, "TOTP step of created users, seconds")
	fs.StringVar(&o.prefix, "prefix", DefaultLayout.Prefix, "name prefix of created users (unique per batch)")
	fs.StringVar(&o.adminDN, "admin-dn", "cn=admin,dc=example,dc=com", "DN that creates users")
	fs.StringVar(&o.adminPW, "admin-password-file", "", "file with the admin's password (for -create-*)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.cfg.Mode, o.cfg.Conn = Mode(*mode), ConnMode(*conn)
	if o.searchAtt != "" {
		o.cfg.SearchAttrs = strings.Split(o.searchAtt, ",")
	}
	if o.users == "" {
		return o, errors.New("-users is required")
	}
	return o, nil
}

func (o options) creating() bool { return o.create.HOTP+o.create.TOTP+o.create.Plain > 0 }

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.creating() {
		return exitCode(stderr, createCommand(ctx, o, stdout))
	}
	res, err := loadCommand(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return exitUsage
	}
	res.Report(stdout)
	if o.strict && res.ErrorCount() > 0 {
		return exitFail
	}
	return exitOK
}

func exitCode(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return exitFail
	}
	return exitOK
}

// createCommand makes the users, adds them to the directory and writes the
// users file.
func createCommand(ctx context.Context, o options, stdout io.Writer) error {
	if o.adminPW == "" {
		return errors.New("-create-* needs -admin-password-file")
	}
	pw, err := os.ReadFile(o.adminPW)
	if err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	l := DefaultLayout
	l.Prefix = o.prefix
	users := NewUsers(l, o.create)
	start := time.Now()
	if err := Create(ctx, o.cfg.URL, o.adminDN, strings.TrimSuffix(string(pw), "\n"), l, users); err != nil {
		return err
	}
	if err := WriteUsers(o.users, users); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %d users in %.1fs, written to %s\n", len(users), time.Since(start).Seconds(), o.users)
	return nil
}

// loadCommand runs the load and saves the HOTP counters it advanced.
func loadCommand(ctx context.Context, o options) (Result, error) {
	users, err := ReadUsers(o.users)
	if err != nil {
		return Result{}, err
	}
	if err := o.sharedMOTP(users); err != nil {
		return Result{}, err
	}
	res, err := Run(ctx, o.cfg, users)
	if err != nil {
		return Result{}, err
	}
	if o.cfg.Mode == ModeHOTPBind {
		if err := WriteUsers(o.users, users); err != nil {
			return res, err
		}
	}
	return res, nil
}

// sharedMOTP gives the users without an mOTP token of their own the one of
// -motp-secret-file and -motp-pin-file (both or neither), for the
// session-rebind mode: every such user is then expected to be an OTPme
// user with that token.
func (o options) sharedMOTP(users []*User) error {
	if (o.motpSec == "") != (o.motpPIN == "") {
		return errors.New("-motp-secret-file and -motp-pin-file go together")
	}
	if o.motpSec == "" {
		return nil
	}
	secret, err := os.ReadFile(o.motpSec)
	if err != nil {
		return fmt.Errorf("mOTP secret: %w", err)
	}
	pin, err := os.ReadFile(o.motpPIN)
	if err != nil {
		return fmt.Errorf("mOTP PIN: %w", err)
	}
	s, p := strings.TrimSpace(string(secret)), strings.TrimSpace(string(pin))
	if s == "" || p == "" {
		return errors.New("-motp-secret-file and -motp-pin-file: empty")
	}
	for _, u := range users {
		if u.MOTPSecret == "" {
			u.MOTPSecret, u.MOTPPIN = s, p
		}
	}
	return nil
}
