package oath_test

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/oath"
)

// fuzzWindowCap keeps valid look-aheads and windows small during fuzzing so
// that each run stays fast; the limits themselves are covered by
// TestVerifyHOTP and TestVerifyTOTP. Out-of-range values pass unchanged.
const fuzzWindowCap = 64

// FuzzVerify feeds random params, keys, codes and state to VerifyHOTP and
// VerifyTOTP. Neither may panic, and every answer must equal that of a
// reference written from the slapo-otp rules with math/big arithmetic: a
// success lies inside the window, above last, and is the winning candidate.
// With derive set, the code is generated for a counter near the window so
// that successes are frequent.
func FuzzVerify(f *testing.F) {
	f.Add(6, 1, int64(0), int64(-1), int64(0), int64(59), int64(30), int64(1), []byte("key"), []byte("755224"), true, int64(1))
	f.Add(1, 1, int64(9), int64(-1), int64(0), int64(1111111109), int64(30), int64(2), seed20, []byte("4"), false, int64(0))
	f.Add(8, 5, int64(3), int64(10), int64(-1), int64(-1), int64(1), int64(3), seed64, []byte("12345678"), true, int64(-2))
	f.Add(0, 0, int64(-1), int64(math.MaxInt64), int64(math.MaxInt64), int64(0), int64(0), int64(-1), []byte{}, []byte{}, false, int64(0))
	f.Add(9, 6, int64(math.MaxInt64), int64(math.MinInt64), int64(math.MinInt64), int64(math.MinInt64), int64(-30), int64(math.MaxInt64), []byte{0xff}, []byte("123456789"), true, int64(math.MaxInt64))
	f.Add(1, 3, int64(5), int64(math.MaxInt64-3), int64(math.MaxInt64-1), int64(math.MaxInt64), int64(1), int64(5), []byte{}, []byte("0"), true, int64(2))
	f.Fuzz(func(t *testing.T, digits, alg int, la, last, drift, unix, period, window int64,
		key, code []byte, derive bool, pick int64) {
		a := oath.Algorithm(alg)
		la, window = shrink(la, oath.MaxLookAhead), shrink(window, oath.MaxWindow)

		hcode := code
		if derive {
			hcode = []byte(oath.Code(a, key, last+pick%(fuzzWindowCap+2), digits))
		}
		hp := oath.HOTPParams{Digits: digits, Algorithm: a, LookAhead: la}
		counter, ok := oath.VerifyHOTP(hp, key, last, hcode)
		wantC, wantOK := referenceHOTP(hp, key, last, hcode)
		if counter != wantC || ok != wantOK {
			t.Fatalf("VerifyHOTP(%+v, last %d, code %q) = %d, %v; reference %d, %v",
				hp, last, hcode, counter, ok, wantC, wantOK)
		}

		now := time.Unix(unix, 0)
		tcode := code
		if derive && period > 0 {
			tcode = []byte(oath.Code(a, key, unix/period+drift+pick%(fuzzWindowCap/2+2), digits))
		}
		tp := oath.TOTPParams{Digits: digits, Algorithm: a, Period: period, Window: window}
		step, newDrift, ok := oath.VerifyTOTP(tp, key, last, drift, now, tcode)
		wantS, wantD, wantOK := referenceTOTPBig(tp, key, last, drift, unix, tcode)
		if step != wantS || newDrift != wantD || ok != wantOK {
			t.Fatalf("VerifyTOTP(%+v, last %d, drift %d, unix %d, code %q) = %d, %d, %v; reference %d, %d, %v",
				tp, last, drift, unix, tcode, step, newDrift, ok, wantS, wantD, wantOK)
		}
	})
}

// shrink maps a valid window size (0..limit) into 0..fuzzWindowCap and
// leaves invalid ones alone.
func shrink(v, limit int64) int64 {
	if v >= 0 && v <= limit {
		return v % (fuzzWindowCap + 1)
	}
	return v
}

// referenceHOTP: candidates last+1 … last+1+L that exist in int64, the
// highest matching one wins, and only if it is not negative.
func referenceHOTP(p oath.HOTPParams, key []byte, last int64, code []byte) (int64, bool) {
	if p.Digits < 1 || p.Digits > 8 || p.LookAhead < 0 || p.LookAhead > oath.MaxLookAhead ||
		p.Algorithm.OID() == "" || len(code) != p.Digits {
		return 0, false
	}
	for i := p.LookAhead + 1; i >= 1; i-- { // highest first: the first hit wins
		c := new(big.Int).Add(big.NewInt(last), big.NewInt(i))
		if c.IsInt64() && oath.Code(p.Algorithm, key, c.Int64(), p.Digits) == string(code) {
			if c.Sign() < 0 {
				return 0, false // slapo-otp: a negative match is no match
			}
			return c.Int64(), true
		}
	}
	return 0, false
}

// referenceTOTPBig: t = floor(unix / P) + drift; offsets 0, then -j, +j for
// j = 1..W; steps <= last skipped; the last visited match wins. Steps or
// drifts outside int64 do not exist; a negative winning step is no match.
func referenceTOTPBig(p oath.TOTPParams, key []byte, last, drift, unix int64, code []byte) (int64, int64, bool) {
	if p.Digits < 1 || p.Digits > 8 || p.Period < 1 || p.Window < 0 || p.Window > oath.MaxWindow ||
		p.Algorithm.OID() == "" || len(code) != p.Digits {
		return 0, 0, false
	}
	var q, m big.Int
	q.DivMod(big.NewInt(unix), big.NewInt(p.Period), &m) // Euclidean = floor for P > 0
	t := new(big.Int).Add(&q, big.NewInt(drift))
	if !t.IsInt64() {
		return 0, 0, false
	}
	offsets := []int64{0}
	for j := int64(1); j <= p.Window; j++ {
		offsets = append(offsets, -j, j)
	}
	var step, newDrift int64
	ok := false
	for _, i := range offsets {
		s := new(big.Int).Add(t, big.NewInt(i))
		d := new(big.Int).Add(big.NewInt(drift), big.NewInt(i))
		if !s.IsInt64() || !d.IsInt64() || s.Int64() <= last {
			continue
		}
		if oath.Code(p.Algorithm, key, s.Int64(), p.Digits) == string(code) {
			step, newDrift, ok = s.Int64(), d.Int64(), true
		}
	}
	if !ok || step < 0 { // slapo-otp: a negative step is no match
		return 0, 0, false
	}
	return step, newDrift, ok
}
