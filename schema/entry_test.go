package schema

import (
	"slices"
	"testing"
)

// entry builds an Entry from attribute/value pairs.
func entry(dn string, pairs ...string) Entry {
	e := Entry{DN: dn, Attributes: map[string][][]byte{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		e.Attributes[pairs[i]] = append(e.Attributes[pairs[i]], []byte(pairs[i+1]))
	}
	return e
}

// strs converts values to strings for comparison.
func strs(vals [][]byte) []string {
	var s []string
	for _, v := range vals {
		s = append(s, string(v))
	}
	return s
}

func TestEntry_Values(t *testing.T) {
	e := entry("cn=x", "objectClass", "device", "objectClass", "oathHOTPToken",
		"OATHSECRET", "s1", "oathsecret", "s2", "cn", "x")
	tests := []struct {
		name, attr string
		want       []string
	}{
		{"exact-case", "objectClass", []string{"device", "oathHOTPToken"}},
		{"other-case", "OBJECTCLASS", []string{"device", "oathHOTPToken"}},
		{"several-spellings-sorted", "oathSecret", []string{"s1", "s2"}},
		{"absent", "oathHOTPCounter", nil},
		{"no-prefix-match", "c", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strs(e.Values(tt.attr)); !slices.Equal(got, tt.want) {
				t.Errorf("Values(%q) = %q, want %q", tt.attr, got, tt.want)
			}
		})
	}
}

func TestEntry_First(t *testing.T) {
	e := entry("cn=x", "oathHOTPCounter", "5", "oathHOTPCounter", "6", "empty", "")
	tests := []struct {
		name, attr string
		want       string
		wantOK     bool
	}{
		{"first-of-two", "OATHHOTPCOUNTER", "5", true},
		{"empty-value", "empty", "", true},
		{"absent", "oathSecret", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := e.First(tt.attr)
			if string(got) != tt.want || ok != tt.wantOK {
				t.Errorf("First(%q) = %q, %v, want %q, %v", tt.attr, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	t.Run("nil-attributes", func(t *testing.T) {
		if _, ok := (Entry{}).First("cn"); ok {
			t.Error("First on an empty Entry found a value")
		}
	})
}

func TestEntry_HasObjectClass(t *testing.T) {
	e := entry("cn=x", "objectclass", "Device", "objectclass", "OATHhotpUSER",
		"objectclass", "1.3.6.1.4.1.5427.1.389.4226.6.3.2")
	tests := []struct {
		name, class string
		want        bool
	}{
		{"name-any-case", ClassHOTPUser, true},
		{"non-oath-class", "device", true},
		{"stored-as-oid", ClassTOTPToken, true},
		{"asked-by-oid", "1.3.6.1.4.1.5427.1.389.4226.6.3.2", true},
		{"absent", ClassTOTPUser, false},
		{"superclass-not-implied", ClassUser, false},
		{"substring-no-match", "oathHOTP", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.HasObjectClass(tt.class); got != tt.want {
				t.Errorf("HasObjectClass(%q) = %v, want %v", tt.class, got, tt.want)
			}
		})
	}
}
