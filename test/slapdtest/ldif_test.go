package slapdtest

import (
	"crypto/sha1"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

func TestParseLDIF(t *testing.T) {
	tests := []struct {
		name    string
		ldif    string
		want    []entry
		wantErr string
	}{
		{
			name: "two-entries",
			ldif: "version: 1\n\n# a comment\ndn: ou=a,dc=x\nobjectClass: top\nobjectClass: organizationalUnit\nou: a\n\n\n" +
				"dn: ou=b,dc=x\nchangetype: add\nOU: b\nou: bee\n",
			want: []entry{
				{DN: "ou=a,dc=x", Attrs: []attribute{{"objectClass", []string{"top", "organizationalUnit"}}, {"ou", []string{"a"}}}},
				{DN: "ou=b,dc=x", Attrs: []attribute{{"OU", []string{"b", "bee"}}}},
			},
		},
		{
			name: "base64-and-continuation",
			ldif: "dn:: b3U9YSxkYz14\ndescription: first\n  second\n  line\noathSecret:: MTIzNDU2Nzg5MDEy\n MzQ1Njc4OTA=\n",
			want: []entry{{DN: "ou=a,dc=x", Attrs: []attribute{
				{"description", []string{"first second line"}},
				{"oathSecret", []string{"12345678901234567890"}},
			}}},
		},
		{
			name: "crlf-comment-continuation-empty-value",
			ldif: "# long comment\r\n  continued\r\ndn: ou=a,dc=x\r\ndescription:\r\n   \r\n",
			want: []entry{{DN: "ou=a,dc=x", Attrs: []attribute{{"description", []string{""}}}}},
		},
		{name: "empty", ldif: "\n# nothing\n\n", want: nil},
		{name: "no-dn", ldif: "ou: a\n", wantErr: "want dn"},
		{name: "modify", ldif: "dn: ou=a,dc=x\nchangetype: modify\nreplace: ou\nou: b\n-\n", wantErr: "changetype"},
		{name: "url-value", ldif: "dn: ou=a,dc=x\njpegPhoto:< file:///x\n", wantErr: "URL"},
		{name: "bad-base64", ldif: "dn: ou=a,dc=x\nou:: !!!\n", wantErr: "base64"},
		{name: "no-colon", ldif: "dn: ou=a,dc=x\nou\n", wantErr: "attr: value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLDIF(tt.ldif)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseLDIF() error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLDIF() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseLDIF() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSSHA(t *testing.T) {
	h := SSHA("secret")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "{SSHA}"))
	if !strings.HasPrefix(h, "{SSHA}") || err != nil || len(raw) != sha1.Size+8 {
		t.Fatalf("SSHA(secret) = %q, not {SSHA} of a 20-byte digest and 8-byte salt", h)
	}
	sum := sha1.Sum(append([]byte("secret"), raw[sha1.Size:]...))
	if string(sum[:]) != string(raw[:sha1.Size]) {
		t.Errorf("SSHA(secret) = %q: digest does not match its salt", h)
	}
	if SSHA("secret") == h {
		t.Errorf("SSHA(secret) twice gave the same salt")
	}
}
