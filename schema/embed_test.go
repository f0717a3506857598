package schema

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// allNames lists every attribute and class constant of names.go.
var allNames = []string{
	AttrSecret, AttrTokenSerialNumber, AttrTokenIdentifier, AttrParamsEntry,
	AttrTOTPPeriod, AttrOTPLength, AttrHOTPParams, AttrTOTPParams,
	AttrHMACAlgorithm, AttrTimestamp, AttrLastFailure, AttrLastLogin,
	AttrSecretTime, AttrSecretMaxAge, AttrToken, AttrHOTPToken, AttrTOTPToken,
	AttrCounter, AttrFailureCount, AttrHOTPCounter, AttrHOTPLookAhead,
	AttrThrottleLimit, AttrTOTPLastStep, AttrMaxUsageCount, AttrTOTPWindow,
	AttrTOTPDrift, AttrSecretLength, AttrEncKey, AttrResultCode,
	AttrSuccessResultCode, AttrFailureResultCode, AttrTokenPIN, AttrMessage,
	AttrSuccessMessage, AttrFailureMessage,
	ClassUser, ClassHOTPUser, ClassTOTPUser, ClassParams, ClassHOTPParams,
	ClassTOTPParams, ClassToken, ClassHOTPToken, ClassTOTPToken,
}

var nameRE = regexp.MustCompile(`NAME '([^']+)'`)

func TestOATHSchema_Names(t *testing.T) {
	files := map[string][]byte{"oath.schema": OATHSchema, "oath.ldif": OATHLDIF}
	for file, text := range files {
		t.Run(strings.ReplaceAll(file, ".", "-"), func(t *testing.T) {
			var defined []string
			for _, m := range nameRE.FindAllSubmatch(text, -1) {
				defined = append(defined, string(m[1]))
			}
			slices.Sort(defined)
			want := slices.Clone(allNames)
			slices.Sort(want)
			if !slices.Equal(defined, want) {
				t.Errorf("%s defines\n%q\nconstants are\n%q", file, defined, want)
			}
		})
	}
}

func TestOATHSchema_MatchesPublished(t *testing.T) {
	want := readPublished(t)
	tests := []struct {
		name string
		got  []string
	}{
		{"oath-schema", schemaDefinitions(t, OATHSchema)},
		{"oath-ldif", ldifDefinitions(t, OATHLDIF)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.got) != len(want) {
				t.Fatalf("got %d definitions, want %d", len(tt.got), len(want))
			}
			for i := range want {
				if tt.got[i] != want[i] {
					t.Errorf("definition %d:\n got %s\nwant %s", i, tt.got[i], want[i])
				}
			}
		})
	}
}

func TestOATHLDIF_Entry(t *testing.T) {
	for _, line := range []string{
		"\ndn: cn=oath,cn=schema,cn=config\n",
		"\nobjectClass: olcSchemaConfig\n",
		"\ncn: oath\n",
	} {
		if !bytes.Contains(OATHLDIF, []byte(line)) {
			t.Errorf("oath.ldif lacks %q", line)
		}
	}
}

// readPublished returns the definitions of testdata/otp_subschema.txt.
func readPublished(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/otp_subschema.txt")
	if err != nil {
		t.Fatal(err)
	}
	var defs []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			defs = append(defs, l)
		}
	}
	return defs
}

// schemaDefinitions parses slapd.conf schema text into definitions as
// cn=Subschema publishes them: OID macros expanded, one space between
// words, "attributeTypes: " or "objectClasses: " in front.
func schemaDefinitions(t *testing.T, text []byte) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "":
		case l[0] == ' ' || l[0] == '\t':
			lines[len(lines)-1] += " " + l
		default:
			lines = append(lines, l)
		}
	}
	kinds := map[string]string{"attributetype": "attributeTypes", "objectclass": "objectClasses"}
	return definitions(t, lines, "objectidentifier", kinds)
}

// ldifDefinitions is schemaDefinitions for the cn=config LDIF.
func ldifDefinitions(t *testing.T, text []byte) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(l, "#") || l == "":
		case l[0] == ' ':
			lines[len(lines)-1] += l[1:]
		default:
			lines = append(lines, l)
		}
	}
	kinds := map[string]string{"olcAttributeTypes:": "attributeTypes", "olcObjectClasses:": "objectClasses"}
	return definitions(t, lines, "olcObjectIdentifier:", kinds)
}

// definitions turns logical lines into published definitions.
func definitions(t *testing.T, lines []string, oidKeyword string, kinds map[string]string) []string {
	t.Helper()
	macros := map[string]string{}
	var defs []string
	for _, l := range lines {
		f := strings.Fields(l)
		if f[0] == oidKeyword {
			macros[f[1]] = expandOID(macros, f[2])
			continue
		}
		kind, ok := kinds[f[0]]
		if !ok {
			continue
		}
		if f[1] != "(" {
			t.Fatalf("definition does not start with '(': %s", l)
		}
		f[2] = expandOID(macros, f[2])
		defs = append(defs, kind+": "+strings.Join(f[1:], " "))
	}
	return defs
}

// expandOID expands an OID macro use "name:suffix" as slapd does.
func expandOID(macros map[string]string, s string) string {
	name, suffix, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	return macros[name] + "." + suffix
}
