package oath_test

import (
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/oath"
)

func BenchmarkVerifyHOTP(b *testing.B) {
	for _, bc := range []struct {
		name string
		la   int64
	}{{"lookahead-0", 0}, {"lookahead-10", 10}} {
		b.Run(bc.name, func(b *testing.B) {
			p := oath.HOTPParams{Digits: 6, Algorithm: oath.SHA1, LookAhead: bc.la}
			c := []byte("000000") // almost surely no match: the whole window is computed anyway
			b.ReportAllocs()
			for b.Loop() {
				oath.VerifyHOTP(p, seed20, 1000, c)
			}
		})
	}
}

func BenchmarkVerifyTOTP(b *testing.B) {
	b.Run("window-1", func(b *testing.B) {
		p := oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30, Window: 1}
		now := time.Unix(1700000000, 0)
		c := []byte("000000")
		b.ReportAllocs()
		for b.Loop() {
			oath.VerifyTOTP(p, seed20, -1, 0, now, c)
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	cred := []byte("correct horse battery staple123456")
	b.ReportAllocs()
	for b.Loop() {
		oath.Split(cred, 6)
	}
}
