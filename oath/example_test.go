package oath_test

import (
	"fmt"
	"time"

	"github.com/ldapotp/ldapotp/oath"
)

func ExampleVerifyHOTP() {
	alg, err := oath.AlgorithmFromOID("1.2.840.113549.2.7") // oathHMACAlgorithm
	if err != nil {
		panic(err)
	}
	p := oath.HOTPParams{Digits: 6, Algorithm: alg, LookAhead: 3}
	static, otp, ok := oath.Split([]byte("s3cret287082"), p.Digits)
	if !ok {
		return
	}
	// oathHOTPCounter is 0: counters 1..4 are accepted.
	counter, ok := oath.VerifyHOTP(p, []byte("12345678901234567890"), 0, otp)
	fmt.Println(string(static), counter, ok)
	// Output: s3cret 1 true
}

func ExampleVerifyTOTP() {
	p := oath.TOTPParams{Digits: 8, Algorithm: oath.SHA1, Period: 30, Window: 1}
	// The code of the step before the current one: accepted with drift -1.
	step, drift, ok := oath.VerifyTOTP(p, []byte("12345678901234567890"), -1, 0,
		time.Unix(1111111109+30, 0), []byte("07081804"))
	fmt.Println(step, drift, ok)
	// Output: 37037036 -1 true
}

func ExampleCode() {
	fmt.Println(oath.Code(oath.SHA1, []byte("12345678901234567890"), 0, 6))
	// Output: 755224
}
