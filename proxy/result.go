package proxy

import "strconv"

// ResultCode is an LDAP result code (RFC 4511 §4.1.9).
type ResultCode int

// The result codes the proxy produces itself. Codes from the upstream pass
// through verbatim and need not be listed here.
const (
	Success                     ResultCode = 0
	OperationsError             ResultCode = 1
	ProtocolError               ResultCode = 2
	sizeLimitExceeded           ResultCode = 4
	AuthMethodNotSupported      ResultCode = 7
	ConfidentialityRequired     ResultCode = 13
	NoSuchAttribute             ResultCode = 16
	constraintViolation         ResultCode = 19
	attributeOrValueExists      ResultCode = 20
	InvalidDNSyntax             ResultCode = 34
	NoSuchObject                ResultCode = 32
	InappropriateAuthentication ResultCode = 48
	InvalidCredentials          ResultCode = 49
	InsufficientAccessRights    ResultCode = 50
	Busy                        ResultCode = 51
	Unavailable                 ResultCode = 52
	UnwillingToPerform          ResultCode = 53
	Other                       ResultCode = 80
	assertionFailed             ResultCode = 122
)

var resultNames = map[ResultCode]string{
	Success:                     "success",
	OperationsError:             "operationsError",
	ProtocolError:               "protocolError",
	sizeLimitExceeded:           "sizeLimitExceeded",
	AuthMethodNotSupported:      "authMethodNotSupported",
	ConfidentialityRequired:     "confidentialityRequired",
	NoSuchAttribute:             "noSuchAttribute",
	constraintViolation:         "constraintViolation",
	attributeOrValueExists:      "attributeOrValueExists",
	NoSuchObject:                "noSuchObject",
	InvalidDNSyntax:             "invalidDNSyntax",
	InappropriateAuthentication: "inappropriateAuthentication",
	InvalidCredentials:          "invalidCredentials",
	InsufficientAccessRights:    "insufficientAccessRights",
	Busy:                        "busy",
	Unavailable:                 "unavailable",
	UnwillingToPerform:          "unwillingToPerform",
	Other:                       "other",
	assertionFailed:             "assertionFailed",
}

// String returns the RFC 4511 name of the code, or its number.
func (c ResultCode) String() string {
	if n, ok := resultNames[c]; ok {
		return n
	}
	return strconv.Itoa(int(c))
}
