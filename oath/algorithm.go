package oath

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Algorithm is the hash function of an OATH token's HMAC. The zero value is
// not a valid algorithm: slapo-otp has no default.
type Algorithm int

// The algorithms slapo-otp accepts, one per RFC 8018 hmacWithSHAx OID.
const (
	SHA1 Algorithm = iota + 1
	SHA224
	SHA256
	SHA384
	SHA512
)

// ErrUnsupportedAlgorithm is wrapped by every error about an unknown or
// unsupported HMAC algorithm.
var ErrUnsupportedAlgorithm = errors.New("unsupported HMAC algorithm")

type algorithmInfo struct {
	name    string // String()
	uriName string // URIName()
	oid     string // OID(), the value of oathHMACAlgorithm
	newHash func() hash.Hash
}

var algorithms = [...]algorithmInfo{
	SHA1:   {"SHA1", "SHA1", "1.2.840.113549.2.7", sha1.New},
	SHA224: {"SHA224", "SHA224", "1.2.840.113549.2.8", sha256.New224},
	SHA256: {"SHA256", "SHA256", "1.2.840.113549.2.9", sha256.New},
	SHA384: {"SHA384", "SHA384", "1.2.840.113549.2.10", sha512.New384},
	SHA512: {"SHA512", "SHA512", "1.2.840.113549.2.11", sha512.New},
}

// valid reports whether a is one of the declared algorithms.
func (a Algorithm) valid() bool {
	return a >= SHA1 && a <= SHA512
}

// AlgorithmFromOID maps the value of oathHMACAlgorithm (an RFC 8018
// hmacWithSHAx OID, 1.2.840.113549.2.7 to .11) to an Algorithm. The match is
// exact, as in slapo-otp: any other string, including hmacWithMD5
// (1.2.840.113549.2.5), the bare SHA-1 OID 1.3.14.3.2.26, the empty string
// and OIDs with surrounding spaces, returns an error wrapping
// ErrUnsupportedAlgorithm.
func AlgorithmFromOID(oid string) (Algorithm, error) {
	for a := SHA1; a <= SHA512; a++ {
		if algorithms[a].oid == oid {
			return a, nil
		}
	}
	return 0, fmt.Errorf("oath: HMAC algorithm OID %q: %w", oid, ErrUnsupportedAlgorithm)
}

// AlgorithmFromName maps a human-written algorithm name to an Algorithm, for
// the command line. It ignores case and accepts an optional hyphen after
// "SHA": "sha1", "SHA-1", "sha256", "SHA-512" and so on. Anything else
// returns an error wrapping ErrUnsupportedAlgorithm.
func AlgorithmFromName(name string) (Algorithm, error) {
	norm := strings.ToUpper(name)
	if rest, ok := strings.CutPrefix(norm, "SHA-"); ok {
		norm = "SHA" + rest
	}
	for a := SHA1; a <= SHA512; a++ {
		if algorithms[a].name == norm {
			return a, nil
		}
	}
	return 0, fmt.Errorf("oath: HMAC algorithm name %q (want SHA1, SHA224, SHA256, SHA384 or SHA512): %w",
		name, ErrUnsupportedAlgorithm)
}

// OID returns the RFC 8018 hmacWithSHAx OID of a, the value slapo-otp expects
// in oathHMACAlgorithm, or "" if a is not a valid Algorithm.
func (a Algorithm) OID() string {
	if !a.valid() {
		return ""
	}
	return algorithms[a].oid
}

// String returns the name of a ("SHA1", "SHA224", "SHA256", "SHA384",
// "SHA512"), or "Algorithm(n)" if a is not a valid Algorithm.
func (a Algorithm) String() string {
	if !a.valid() {
		return "Algorithm(" + strconv.Itoa(int(a)) + ")"
	}
	return algorithms[a].name
}

// URIName returns the value of the algorithm parameter of an otpauth:// URI
// for a, or "" if a is not a valid Algorithm. The Key URI Format defines only
// SHA1, SHA256 and SHA512; for SHA224 and SHA384 URIName returns "SHA224" and
// "SHA384", which many authenticator apps do not understand, so callers that
// print a URI should warn about those two.
func (a Algorithm) URIName() string {
	if !a.valid() {
		return ""
	}
	return algorithms[a].uriName
}
