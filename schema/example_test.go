package schema_test

import (
	"fmt"

	"github.com/ldapotp/ldapotp/schema"
)

func ExampleDecodeToken() {
	e := schema.Entry{
		DN: "cn=token,dc=example,dc=com",
		Attributes: map[string][][]byte{
			"objectClass":     {[]byte("device"), []byte("oathHOTPToken")},
			"oathSecret":      {[]byte("12345678901234567890")},
			"oathHOTPParams":  {[]byte("cn=params,dc=example,dc=com")},
			"oathHOTPCounter": {[]byte("41")},
		},
	}
	tok, err := schema.DecodeToken(e, schema.HOTP)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Kind, tok.ParamsDN, tok.Counter)
	// After code no. 43 matched, the compare-and-swap write-back deletes
	// exactly the value that was read and adds the new one:
	matched := int64(43)
	fmt.Printf("delete %s: %s, add %s: %s\n",
		schema.AttrHOTPCounter, tok.CounterRaw, schema.AttrHOTPCounter, schema.FormatInt(matched))
	// Output:
	// HOTP cn=params,dc=example,dc=com 41
	// delete oathHOTPCounter: 41, add oathHOTPCounter: 43
}

func ExampleDecodeTOTPParams() {
	e := schema.Entry{
		DN: "cn=totp-params,dc=example,dc=com",
		Attributes: map[string][][]byte{
			"objectClass":            {[]byte("oathTOTPParams")},
			"oathOTPLength":          {[]byte("6")},
			"oathHMACAlgorithm":      {[]byte("1.2.840.113549.2.7")},
			"oathTOTPTimeStepPeriod": {[]byte("30")},
		},
	}
	p, drift, err := schema.DecodeTOTPParams(e)
	fmt.Println(p.Digits, p.Algorithm, p.Period, p.Window, drift, err)
	// Output: 6 SHA1 30 0 0 <nil>
}
