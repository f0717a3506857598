// Package schema is the OATH-LDAP schema as ldapotp and slapo-otp use it.
//
// It holds two things:
//
//   - the schema files an operator loads into a directory that does not run
//     slapd's otp module: oath.schema (slapd.conf) and oath.ldif
//     (cn=config), embedded as OATHSchema and OATHLDIF, with exactly the
//     definitions slapo-otp 2.5 compiles in;
//   - the attribute and object class names, and typed decoding of user,
//     token and params entries (DecodeUser, DecodeToken, DecodeHOTPParams,
//     DecodeTOTPParams) with slapo-otp's rules: which classes an entry needs,
//     which attributes are required, and how integers are written (slapd's
//     Integer syntax).
//
// Decoding only decodes: it does not judge whether the values make sense
// (period 0, 9 digits, negative look-ahead); oath's Validate does that.
// Errors wrap one of the sentinels below and name the entry's DN and the
// attribute; secrets never appear in them.
//
// schema may import only the standard library and
// github.com/ldapotp/ldapotp/oath.
package schema
