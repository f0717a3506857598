// Command ldapotp is the ldapotp LDAP proxy and its admin tool.
//
//	ldapotp serve -c /etc/ldapotp/ldapotp.yaml
//	ldapotp serve --listen 127.0.0.1:1389 --upstream ldap://127.0.0.1:389 \
//	    --service-dn cn=ldapotp,ou=services,dc=example,dc=com --service-password-file pw
//	ldapotp tool otpauth|code …
//	ldapotp user|token|group|client|session|auth|tool VERB … (the admin verbs)
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed
	exitUsage = 2 // bad flags or configuration
)

func main() {
	os.Exit(runWithInput(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: ldapotp <command> [flags]

commands:
  serve     run the proxy (ldapotp serve -h for its flags)
  tool      helpers: otpauth (print an otpauth:// URI and QR code),
            code (print the current code of a secret)
  version   print the version
  completion bash|zsh
            print a shell completion script
  user, token, group, client, session, auth
            the admin verbs (below)
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// runWithInput is run with stdin, which the admin verbs read for
// confirmations.
func runWithInput(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if isAdminCommand(args) {
		return runAdmin(args, stdin, stdout, stderr)
	}
	return run(args, stdout, stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	if isAdminCommand(args) {
		return runAdmin(args, strings.NewReader(""), stdout, stderr)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "tool":
		return runTool(args[1:], stdout, stderr)
	case "completion":
		return runCompletion(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "ldapotp", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage+adminUsage())
		return exitOK
	}
	fmt.Fprintf(stderr, "ldapotp: unknown command %q\n%s", args[0], usage)
	return exitUsage
}
