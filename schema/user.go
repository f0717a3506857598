package schema

// User is what the proxy needs to know of the entry of the DN being bound.
type User struct {
	// DN is the user entry's DN.
	DN string
	// IsOTPUser is true when the entry has objectClass oathHOTPUser or
	// oathTOTPUser. slapo-otp intercepts the binds of exactly these users
	// (any subclass of oathUser; these two are the only ones).
	IsOTPUser bool
	// HOTPToken is the first value of oathHOTPToken, "" if absent.
	HOTPToken string
	// TOTPToken is the first value of oathTOTPToken, "" if absent.
	TOTPToken string
}

// DecodeUser decodes a user entry read with UserAttributes. It cannot fail:
// whether the token pointers lead anywhere is for DecodeToken to say.
func DecodeUser(e Entry) User {
	hotp, _ := e.First(AttrHOTPToken)
	totp, _ := e.First(AttrTOTPToken)
	return User{
		DN:        e.DN,
		IsOTPUser: e.HasObjectClass(ClassHOTPUser) || e.HasObjectClass(ClassTOTPUser),
		HOTPToken: string(hotp),
		TOTPToken: string(totp),
	}
}
