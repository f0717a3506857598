package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The admin verbs mirror OTPme's command line: "otpme-user add NAME" is
// "ldapotp user add NAME". Verbs are spelt as in the guide
// (enable_sessions); the hyphenated spelling (enable-sessions) is accepted
// too.

// verb is one admin verb of an object.
type verb struct {
	// name is the guide's spelling.
	name string
	// args is the usage of the positional arguments, e.g. "NAME".
	args string
	// min and max bound the number of positional arguments.
	min, max int
	// flags names the verb's own flags (see optFlags).
	flags []string
	// help is one line for the usage.
	help string
	// run does the verb.
	run func(a *admin, args []string) error
	// object is "OBJECT VERB", for messages (set by objects).
	object string
}

// object is a group of verbs: user, token, group, client, session, auth.
type object struct {
	name  string
	help  string
	verbs []verb
}

// objects returns every admin object with its verbs, in usage order.
func objects() []object {
	objs := []object{
		{"user", "OTPme users (and their uid= entries)", userVerbs()},
		{"token", "tokens: password, motp, hotp, totp", tokenVerbs()},
		{"group", "access groups", groupVerbs()},
		{"client", "clients (applications sending binds)", clientVerbs()},
		{"session", "OTP sessions", sessionVerbs()},
		{"auth", "decide a login as the proxy would", authVerbs()},
		{"tool", "helpers", toolVerbs()},
	}
	for _, o := range objs {
		for i := range o.verbs {
			o.verbs[i].object = o.name + " " + o.verbs[i].name
		}
	}
	return objs
}

// findObject returns the object called name.
func findObject(name string) (object, bool) {
	for _, o := range objects() {
		if o.name == name {
			return o, true
		}
	}
	return object{}, false
}

// canonicalVerb turns a verb's spelling into the guide's (dashes to
// underscores).
func canonicalVerb(s string) string { return strings.ReplaceAll(s, "-", "_") }

// findVerb returns the verb of o spelt s (with _ or -), or an alias.
func (o object) findVerb(s string) (verb, bool) {
	s = canonicalVerb(s)
	if alias, ok := verbAliases[o.name+" "+s]; ok {
		s = alias
	}
	for _, v := range o.verbs {
		if v.name == s {
			return v, true
		}
	}
	return verb{}, false
}

// verbAliases are other spellings the guide uses for a verb.
var verbAliases = map[string]string{
	"group remove_child":    "remove_child_group",
	"client remove_address": "del_address",
	"session delete":        "del",
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// errHelp is -h after a verb: its usage, printed to stdout, exit 0.
type errHelp struct{ text string }

func (e errHelp) Error() string { return e.text }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// isAdminCommand reports whether the command line is an admin verb:
// an object name first, or global flags before one.
func isAdminCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if _, ok := findObject(args[0]); ok {
		return args[0] != "tool" || len(args) > 1 && isAdminTool(args[1])
	}
	return strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" &&
		args[0] != "-help" && args[0] != "--version" && args[0] != "-version"
}

// isAdminTool reports whether a "tool" verb is one of the admin ones
// (the others live in tool.go).
func isAdminTool(s string) bool {
	o, _ := findObject("tool")
	_, ok := o.findVerb(s)
	return ok
}

// runAdmin runs "ldapotp [global flags] OBJECT VERB ARGS".
func runAdmin(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &admin{ctx: context.Background(), out: stdout, errw: stderr, in: stdin, interactive: isTerminalReader(stdin)}
	defer a.close()
	name, err := a.dispatch(args)
	var help errHelp
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.text)
		return exitOK
	}
	if err == nil || errors.Is(err, errRejected) {
		return exitCode(err)
	}
	fmt.Fprintf(stderr, "ldapotp %s: %s\n", name, oneLine(err))
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFail
}

// dispatch parses the command line and runs the verb; it returns the
// command's name for messages.
func (a *admin) dispatch(args []string) (string, error) {
	pre := flag.NewFlagSet("ldapotp", flag.ContinueOnError)
	pre.SetOutput(io.Discard)
	a.g.register(pre)
	if err := pre.Parse(args); err != nil {
		return "", usageError{err}
	}
	rest := pre.Args()
	if len(rest) == 0 {
		return "", usagef("no object given (user, token, group, client, session, auth, tool)")
	}
	o, ok := findObject(rest[0])
	if !ok {
		return "", usagef("unknown object %q (user, token, group, client, session, auth, tool)", rest[0])
	}
	rest = a.objectFlags(o, rest[1:])
	if len(rest) == 0 {
		return o.name, usagef("no verb given\n%s", objectUsage(o))
	}
	v, ok := o.findVerb(rest[0])
	if !ok {
		return o.name, usagef("unknown verb %q; the verbs of %s: %s", rest[0], o.name, verbNames(o))
	}
	name := o.name + " " + v.name
	pos, err := a.parseVerb(v, rest[1:])
	if err != nil {
		return name, err
	}
	return name, v.run(a, pos)
}

// objectFlags takes the flags OTPme puts between object and verb
// ("otpme-auth -d verify").
func (a *admin) objectFlags(o object, args []string) []string {
	for len(args) > 0 && o.name == "auth" && (args[0] == "-d" || args[0] == "--debug") {
		a.o.debug = true
		args = args[1:]
	}
	return args
}

// parseVerb parses the verb's flags and the global flags, anywhere among
// the positional arguments (until "--"), and checks their number.
func (a *admin) parseVerb(v verb, args []string) ([]string, error) {
	fs := flag.NewFlagSet(v.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	for _, f := range v.flags {
		optFlags[f](fs, &a.o)
	}
	var pos, tail []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, tail = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, errHelp{fmt.Sprintf("usage: ldapotp %s %s\n  %s\n", v.object, verbSynopsis(v), v.help)}
		} else if err != nil {
			return nil, usageError{err}
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	pos = append(pos, tail...)
	if len(pos) < v.min || len(pos) > v.max {
		return nil, usagef("usage: ldapotp %s %s", v.object, verbSynopsis(v))
	}
	return pos, nil
}

// verbNames lists the verbs of o.
func verbNames(o object) string {
	names := make([]string, len(o.verbs))
	for i, v := range o.verbs {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

// verbSynopsis is a verb's arguments and flags.
func verbSynopsis(v verb) string {
	s := v.args
	for _, f := range v.flags {
		s += " [" + optUsage[f] + "]"
	}
	return strings.TrimSpace(s)
}

// objectUsage lists the verbs of one object.
func objectUsage(o object) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s — %s\n", o.name, o.help)
	for _, v := range o.verbs {
		fmt.Fprintf(&b, "    ldapotp %s %s %s\n        %s\n", o.name, v.name, verbSynopsis(v), v.help)
	}
	return b.String()
}

// adminUsage is the admin part of "ldapotp --help": every verb.
func adminUsage() string {
	var b strings.Builder
	b.WriteString("\nadmin commands (OTPme's verbs; _ or - in verb names):\n")
	for _, o := range objects() {
		b.WriteString(objectUsage(o))
	}
	b.WriteString(`
global flags (before or after the verb):
  -c, --config FILE            config file (default $LDAPOTP_CONFIG, else ` + defaultConfigPath + ` if it exists)
  --upstream URL --admin-dn DN --admin-password-file FILE --otpme-base DN
                               the directory and the account to write it as, without a config file
  --store memory|directory --otpme-key-file FILE
                               where OTPme state is (as the proxies have it)
  --people-base DN --tokens-base DN --params-base DN
                               where uid=, token and params entries are made
  -y, --yes                    answer yes to confirmations (without a terminal: required)
  --json                       show: print JSON
exit status: 0 ok (auth verify: Accept), 1 failure (Reject), 2 usage
`)
	return b.String()
}

// isTerminalReader reports whether confirmations can be asked on r: a
// terminal.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}
