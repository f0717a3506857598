package schema

// AttrObjectClass is the objectClass attribute.
const AttrObjectClass = "objectClass"

// Attribute types of the OATH-LDAP schema, as slapd publishes their names.
// The comment after each says whether slapo-otp (and so the proxy) uses it.
const (
	// AttrSecret (oathSecret) is a token's HMAC key, raw bytes. Used.
	AttrSecret = "oathSecret"
	// AttrTokenSerialNumber (oathTokenSerialNumber) is a vendor serial number.
	AttrTokenSerialNumber = "oathTokenSerialNumber"
	// AttrTokenIdentifier (oathTokenIdentifier) is a global token identifier.
	AttrTokenIdentifier = "oathTokenIdentifier"
	// AttrParamsEntry (oathParamsEntry) is the abstract parent of the params
	// pointers AttrHOTPParams and AttrTOTPParams.
	AttrParamsEntry = "oathParamsEntry"
	// AttrTOTPPeriod (oathTOTPTimeStepPeriod) is the TOTP step in seconds. Used.
	AttrTOTPPeriod = "oathTOTPTimeStepPeriod"
	// AttrOTPLength (oathOTPLength) is the number of digits. Used.
	AttrOTPLength = "oathOTPLength"
	// AttrHOTPParams (oathHOTPParams) points from an HOTP token to its
	// params entry. Used.
	AttrHOTPParams = "oathHOTPParams"
	// AttrTOTPParams (oathTOTPParams) points from a TOTP token to its params
	// entry. Used.
	AttrTOTPParams = "oathTOTPParams"
	// AttrHMACAlgorithm (oathHMACAlgorithm) is the HMAC algorithm's OID. Used.
	AttrHMACAlgorithm = "oathHMACAlgorithm"
	// AttrTimestamp (oathTimestamp) is the abstract parent of the timestamps.
	AttrTimestamp = "oathTimestamp"
	// AttrLastFailure (oathLastFailure) is the time of the last failure.
	AttrLastFailure = "oathLastFailure"
	// AttrLastLogin (oathLastLogin) is the time of the last success.
	AttrLastLogin = "oathLastLogin"
	// AttrSecretTime (oathSecretTime) is when the secret was generated.
	AttrSecretTime = "oathSecretTime"
	// AttrSecretMaxAge (oathSecretMaxAge) is the secret's lifetime, seconds.
	AttrSecretMaxAge = "oathSecretMaxAge"
	// AttrToken (oathToken) is the abstract parent of the token pointers
	// AttrHOTPToken and AttrTOTPToken.
	AttrToken = "oathToken"
	// AttrHOTPToken (oathHOTPToken) points from a user to an HOTP token. Used.
	AttrHOTPToken = "oathHOTPToken"
	// AttrTOTPToken (oathTOTPToken) points from a user to a TOTP token. Used.
	AttrTOTPToken = "oathTOTPToken"
	// AttrCounter (oathCounter) is the abstract parent of the counters.
	AttrCounter = "oathCounter"
	// AttrFailureCount (oathFailureCount) counts failures.
	AttrFailureCount = "oathFailureCount"
	// AttrHOTPCounter (oathHOTPCounter) is the counter of the last HOTP code
	// used. Used (read and written).
	AttrHOTPCounter = "oathHOTPCounter"
	// AttrHOTPLookAhead (oathHOTPLookAhead) is the HOTP look-ahead. Used.
	AttrHOTPLookAhead = "oathHOTPLookAhead"
	// AttrThrottleLimit (oathThrottleLimit) is a failure throttle limit.
	AttrThrottleLimit = "oathThrottleLimit"
	// AttrTOTPLastStep (oathTOTPLastTimeStep) is the last TOTP step used.
	// Used (read and written).
	AttrTOTPLastStep = "oathTOTPLastTimeStep"
	// AttrMaxUsageCount (oathMaxUsageCount) limits how often a token is used.
	AttrMaxUsageCount = "oathMaxUsageCount"
	// AttrTOTPWindow (oathTOTPTimeStepWindow) is the TOTP +/- window. Used.
	AttrTOTPWindow = "oathTOTPTimeStepWindow"
	// AttrTOTPDrift (oathTOTPTimeStepDrift) is the TOTP step offset: written
	// to the token, read from the params entry by slapo-otp. Used.
	AttrTOTPDrift = "oathTOTPTimeStepDrift"
	// AttrSecretLength (oathSecretLength) is the plain-text secret's length.
	AttrSecretLength = "oathSecretLength"
	// AttrEncKey (oathEncKey) is a public key for encrypting new secrets.
	AttrEncKey = "oathEncKey"
	// AttrResultCode (oathResultCode) is the abstract parent of the result
	// codes.
	AttrResultCode = "oathResultCode"
	// AttrSuccessResultCode (oathSuccessResultCode) is a result code for
	// success responses. Multi-valued.
	AttrSuccessResultCode = "oathSuccessResultCode"
	// AttrFailureResultCode (oathFailureResultCode) is a result code for
	// failure responses. Multi-valued.
	AttrFailureResultCode = "oathFailureResultCode"
	// AttrTokenPIN (oathTokenPIN) is a configuration PIN.
	AttrTokenPIN = "oathTokenPIN"
	// AttrMessage (oathMessage) is the abstract parent of the messages.
	AttrMessage = "oathMessage"
	// AttrSuccessMessage (oathSuccessMessage) is a diagnostic message for
	// success responses. Multi-valued.
	AttrSuccessMessage = "oathSuccessMessage"
	// AttrFailureMessage (oathFailureMessage) is a diagnostic message for
	// failure responses. Multi-valued.
	AttrFailureMessage = "oathFailureMessage"
)

// Object classes of the OATH-LDAP schema. The three roots are abstract,
// the six others auxiliary.
const (
	// ClassUser (oathUser) is the abstract parent of the user classes.
	ClassUser = "oathUser"
	// ClassHOTPUser (oathHOTPUser) marks a user with an HOTP token.
	ClassHOTPUser = "oathHOTPUser"
	// ClassTOTPUser (oathTOTPUser) marks a user with a TOTP token.
	ClassTOTPUser = "oathTOTPUser"
	// ClassParams (oathParams) is the abstract parent of the params classes.
	ClassParams = "oathParams"
	// ClassHOTPParams (oathHOTPParams) marks an HOTP params entry.
	ClassHOTPParams = "oathHOTPParams"
	// ClassTOTPParams (oathTOTPParams) marks a TOTP params entry.
	ClassTOTPParams = "oathTOTPParams"
	// ClassToken (oathToken) is the abstract parent of the token classes.
	ClassToken = "oathToken"
	// ClassHOTPToken (oathHOTPToken) marks an HOTP token entry.
	ClassHOTPToken = "oathHOTPToken"
	// ClassTOTPToken (oathTOTPToken) marks a TOTP token entry.
	ClassTOTPToken = "oathTOTPToken"
)

// classOIDs maps each object class name (lower case) to its OID, so that
// HasObjectClass also recognises a class stored by OID.
var classOIDs = map[string]string{
	"oathuser":       "1.3.6.1.4.1.5427.1.389.4226.6.1",
	"oathhotpuser":   "1.3.6.1.4.1.5427.1.389.4226.6.1.1",
	"oathtotpuser":   "1.3.6.1.4.1.5427.1.389.4226.6.1.2",
	"oathparams":     "1.3.6.1.4.1.5427.1.389.4226.6.2",
	"oathhotpparams": "1.3.6.1.4.1.5427.1.389.4226.6.2.1",
	"oathtotpparams": "1.3.6.1.4.1.5427.1.389.4226.6.2.2",
	"oathtoken":      "1.3.6.1.4.1.5427.1.389.4226.6.3",
	"oathhotptoken":  "1.3.6.1.4.1.5427.1.389.4226.6.3.1",
	"oathtotptoken":  "1.3.6.1.4.1.5427.1.389.4226.6.3.2",
}

// UserAttributes are the attributes to request when reading a user entry
// for DecodeUser. Do not modify the slice.
var UserAttributes = []string{AttrObjectClass, AttrHOTPToken, AttrTOTPToken}

// TokenAttributes are the attributes to request when reading a token entry
// for DecodeToken, of either kind. Do not modify the slice.
var TokenAttributes = []string{
	AttrObjectClass, AttrSecret,
	AttrHOTPParams, AttrHOTPCounter,
	AttrTOTPParams, AttrTOTPLastStep, AttrTOTPDrift,
}

// ParamsAttributes are the attributes to request when reading a params
// entry for DecodeHOTPParams or DecodeTOTPParams. Do not modify the slice.
var ParamsAttributes = []string{
	AttrObjectClass, AttrOTPLength, AttrHMACAlgorithm,
	AttrHOTPLookAhead,
	AttrTOTPPeriod, AttrTOTPWindow, AttrTOTPDrift,
}
