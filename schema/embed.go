package schema

import _ "embed" // for the schema files

// OATHSchema is oath.schema, the OATH-LDAP schema for slapd.conf
// (`include`). It must not be loaded together with slapd's otp module,
// which registers the same schema itself. Do not modify the slice.
//
//go:embed oath.schema
var OATHSchema []byte

// OATHLDIF is oath.ldif, the OATH-LDAP schema as the cn=config entry
// cn=oath,cn=schema,cn=config. It must not be loaded together with slapd's
// otp module, which registers the same schema itself. Do not modify the
// slice.
//
//go:embed oath.ldif
var OATHLDIF []byte

// OTPmeSchema is otpme.schema, ldapotp's OTPme extension schema for
// slapd.conf (`include`), to be loaded next to the OATH-LDAP schema. Do
// not modify the slice.
//
//go:embed otpme.schema
var OTPmeSchema []byte

// OTPmeLDIF is otpme.ldif, the OTPme extension schema as the cn=config
// entry cn=otpme,cn=schema,cn=config. Do not modify the slice.
//
//go:embed otpme.ldif
var OTPmeLDIF []byte
