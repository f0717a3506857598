package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ldapotp/ldapotp/proxy"
)

// serveConfig is the config file: the proxy's keys plus logging.
type serveConfig struct {
	proxy.Config `yaml:",inline"`
	// AdminKeys are read by the admin verbs only (admin_dn, …); serve
	// accepts them so that one file configures both.
	AdminKeys `yaml:",inline"`
	// LogLevel: debug, info (default), warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat: text (default) or json.
	LogFormat string `yaml:"log_format"`
	// StatusFile: if set, the proxy's gauges (connections, user index) are
	// written to this file as JSON every second, replaced atomically, for
	// monitoring and for scripts that wait for the index.
	StatusFile string `yaml:"status_file"`
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runServe(args []string, stdout, stderr io.Writer) int {
	cfg, check, err := loadServeConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ldapotp serve: %s\n", oneLine(err))
		return exitUsage
	}
	logger, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ldapotp serve: %s\n", oneLine(err))
		return exitUsage
	}
	srv, err := proxy.New(cfg.Config, proxy.WithLogger(logger))
	if err != nil {
		fmt.Fprintf(stderr, "ldapotp serve: config: %s\n", oneLine(err))
		return exitUsage
	}
	if check {
		fmt.Fprintln(stdout, "configuration ok")
		return exitOK
	}
	return serveUntilSignal(srv, logger, cfg.StatusFile)
}

func serveUntilSignal(srv *proxy.Server, logger *slog.Logger, statusFile string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if statusFile != "" {
		go writeStatus(ctx, srv, statusFile, logger)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := srv.ReloadTLS(); err != nil {
				logger.Error("SIGHUP: TLS certificate not reloaded, the old one stays in use", "err", err)
				continue
			}
			logger.Info("SIGHUP: TLS certificate reloaded")
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		if err != nil {
			logger.Error("serve", "err", err)
			return exitFail
		}
		return exitOK
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("shutdown", "err", err)
		return exitFail
	}
	<-errc
	return exitOK
}

// writeStatus writes srv.Stats() as JSON to path every second until ctx
// ends, through a temporary file and a rename so readers never see half.
func writeStatus(ctx context.Context, srv *proxy.Server, path string, logger *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failing := false
	for {
		b, _ := json.Marshal(srv.Stats())
		tmp := path + ".tmp"
		err := os.WriteFile(tmp, append(b, '\n'), 0o644)
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil && !failing {
			logger.Warn("status_file: not written", "err", err)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadServeConfig reads the config file (if any), then applies the flags on
// top of it, then loads the service password.
func loadServeConfig(args []string, stderr io.Writer) (serveConfig, bool, error) {
	var (
		cfg                            serveConfig
		file                           string
		listen, listenLDAPS            listFlag
		upstream, dn, pwFile           string
		drift, level, format           string
		certFile, keyFile, caFile      string
		anonymous, check, requireTLS   bool
		upstreamStartTLS               bool
		otpmeBase, store, otpmeKeyFile string
		allowGroupMissing              bool
		statusFile, userIndex          string
		userIndexBases                 listFlag
	)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&file, "c", os.Getenv("LDAPOTP_CONFIG"), "config file (YAML; default $LDAPOTP_CONFIG)")
	fs.StringVar(&file, "config", os.Getenv("LDAPOTP_CONFIG"), "same as -c")
	fs.Var(&listen, "listen", "listen address host:port (repeatable)")
	fs.Var(&listenLDAPS, "listen-ldaps", "LDAPS listen address host:port (repeatable)")
	fs.StringVar(&certFile, "tls-cert-file", "", "PEM certificate of the listeners (enables StartTLS and LDAPS)")
	fs.StringVar(&keyFile, "tls-key-file", "", "PEM key of the listeners")
	fs.BoolVar(&requireTLS, "require-tls", false, "refuse binds without TLS (confidentialityRequired)")
	fs.StringVar(&caFile, "upstream-ca-file", "", "PEM CA certificates to verify the upstream with")
	fs.BoolVar(&upstreamStartTLS, "upstream-starttls", false, "use StartTLS on ldap:// upstream connections")
	fs.StringVar(&otpmeBase, "otpme-base", "", "container of the OTPme objects and state (turns OTPme on)")
	fs.StringVar(&store, "store", "", "OTPme state: memory (default) or directory")
	fs.StringVar(&otpmeKeyFile, "otpme-key-file", "", "file with at least 32 random bytes keying OTPme's stored hashes")
	fs.BoolVar(&allowGroupMissing, "allow-group-missing", false, "binds without client/access group may use all of a user's tokens")
	fs.StringVar(&upstream, "upstream", "", "upstream directory URL, e.g. ldap://127.0.0.1:389")
	fs.StringVar(&dn, "service-dn", "", "service account DN")
	fs.StringVar(&pwFile, "service-password-file", "", "file with the service account password")
	fs.StringVar(&drift, "totp-drift", "", "params (slapo-otp) or track")
	fs.BoolVar(&anonymous, "allow-anonymous", false, "pass anonymous binds to the upstream")
	fs.StringVar(&level, "log-level", "", "debug, info, warn or error")
	fs.StringVar(&format, "log-format", "", "text or json")
	fs.BoolVar(&check, "check-config", false, "check the configuration and exit")
	fs.StringVar(&statusFile, "status-file", "", "write the gauges as JSON to this file every second")
	fs.StringVar(&userIndex, "user-index", "", "auto (default: poll the OTP users by content synchronization when the directory offers it), persist or off")
	fs.Var(&userIndexBases, "user-index-base", "subtree the user index follows (repeatable; default: the naming contexts)")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if file != "" {
		if err := readConfigFile(file, &cfg); err != nil {
			return cfg, false, err
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	if len(listen) > 0 {
		cfg.Listen = listen
	}
	if len(listenLDAPS) > 0 {
		cfg.ListenLDAPS = listenLDAPS
	}
	set(&cfg.TLSCertFile, certFile)
	set(&cfg.TLSKeyFile, keyFile)
	set(&cfg.UpstreamCAFile, caFile)
	cfg.RequireTLS = cfg.RequireTLS || requireTLS
	cfg.UpstreamStartTLS = cfg.UpstreamStartTLS || upstreamStartTLS
	set(&cfg.OTPmeBase, otpmeBase)
	set(&cfg.Store, store)
	set(&cfg.OTPmeKeyFile, otpmeKeyFile)
	set(&cfg.StatusFile, statusFile)
	set(&cfg.UserIndex, userIndex)
	if len(userIndexBases) > 0 {
		cfg.UserIndexBases = userIndexBases
	}
	cfg.AllowGroupMissing = cfg.AllowGroupMissing || allowGroupMissing
	if cfg.OTPmeKeyFile != "" {
		key, err := os.ReadFile(cfg.OTPmeKeyFile)
		if err != nil {
			return cfg, false, fmt.Errorf("otpme_key_file: %w", err)
		}
		cfg.OTPmeKey = proxy.NewSecret(key)
	}
	set(&cfg.Upstream, upstream)
	set(&cfg.ServiceDN, dn)
	set(&cfg.ServicePasswordFile, pwFile)
	set((*string)(&cfg.TOTPDrift), drift)
	set(&cfg.LogLevel, level)
	set(&cfg.LogFormat, format)
	cfg.AllowAnonymous = cfg.AllowAnonymous || anonymous
	if cfg.ServicePasswordFile != "" {
		pw, err := readSecretFile(cfg.ServicePasswordFile)
		if err != nil {
			return cfg, false, fmt.Errorf("service_password_file: %w", err)
		}
		cfg.ServicePassword = proxy.NewSecret(pw)
	}
	return cfg, check, nil
}

func readConfigFile(path string, cfg *serveConfig) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if level == "" {
		level = "info"
	}
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level: %q: must be debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log_format: %q: must be text or json", format)
}

// oneLine joins a multi-line error (errors.Join) into one line.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
