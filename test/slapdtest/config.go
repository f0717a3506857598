package slapdtest

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

// config is what slapd.conf is rendered from; every path is absolute.
type config struct {
	Test        string   // name of the test, for the header
	Kind        Kind     // Plain or Oracle
	ModuleDir   string   // "" when the backends are built in
	MDBModule   bool     // moduleload back_mdb.so
	SchemaDir   string   // core, cosine, inetorgperson, nis
	OATHSchema  string   // Plain: schema/oath.schema; Oracle: "" (compiled into otp.so)
	OTPmeSchema string   // schema/otpme.schema, on every server
	Schemas     []string // Options.Schemas
	Dir         string   // the server's directory
	BaseDN      string   // the suffix
	RootDN      string   // the rootdn
	RootPW      string   // {SSHA} hash
	NoSync      bool     // dbnosync
	Extra       string   // Options.ExtraConfig
	Global      string   // Options.GlobalConfig
	ACL         string   // examples/slapd/acl.conf
}

// confTemplate is the slapd.conf of every test server. Global section, then
// one mdb database: the overlay (Oracle), the test's extra directives, and
// last the production access rules, so that `access` lines in ExtraConfig
// are matched before them.
var confTemplate = template.Must(template.New("slapd.conf").Funcs(template.FuncMap{"q": quote}).Parse(
	`# slapd.conf written by slapdtest ({{.Kind}}) for {{.Test}}
{{with .ModuleDir}}modulepath {{q .}}
{{end}}{{if .MDBModule}}moduleload back_mdb.so
{{end}}{{if .Oracle}}# slapo-otp; it registers the OATH-LDAP schema itself.
moduleload otp.so
{{end}}
include {{q .SchemaDir}}/core.schema
include {{q .SchemaDir}}/cosine.schema
include {{q .SchemaDir}}/inetorgperson.schema
include {{q .SchemaDir}}/nis.schema
{{with .OATHSchema}}include {{q .}}
{{end}}include {{q .OTPmeSchema}}
{{range .Schemas}}include {{q .}}
{{end}}
# No syslog: slapd's log goes to stderr (-d), which the harness keeps.
# (Left at its default, stats, every operation would also try /dev/log.)
loglevel none
pidfile {{q .Dir}}/slapd.pid
argsfile {{q .Dir}}/slapd.args

access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
{{with .Global}}
# Options.GlobalConfig
{{.}}
{{end}}
database mdb
suffix {{q .BaseDN}}
rootdn {{q .RootDN}}
rootpw {{.RootPW}}
directory {{q .Dir}}/db
maxsize 67108864
{{if .NoSync}}dbnosync
{{end}}index objectClass eq
index uid eq
index otpmeKey,otpmeKind,otpmeUserID,otpmeGroupID,otpmeTokenID eq
limits dn.exact="cn=ldapotp,ou=services,dc=example,dc=com" size=unlimited time=unlimited
{{if .Oracle}}overlay otp
{{end}}{{with .Extra}}
# Options.ExtraConfig
{{.}}
{{end}}
include {{q .ACL}}
`))

// Oracle reports whether slapd runs slapo-otp.
func (c config) Oracle() bool { return c.Kind == Oracle }

// render returns the text of slapd.conf.
func (c config) render() (string, error) {
	var b strings.Builder
	if err := confTemplate.Execute(&b, c); err != nil {
		return "", fmt.Errorf("render slapd.conf: %w", err)
	}
	return b.String(), nil
}

// quote quotes a slapd.conf argument (paths may contain spaces).
func quote(s string) string {
	return strconv.Quote(s)
}
