package oath_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
)

// RFC 6238 Appendix B seeds, one per hash.
var (
	seed20 = []byte("12345678901234567890")
	seed32 = []byte("12345678901234567890123456789012")
	seed64 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

func TestCode(t *testing.T) {
	tests := []struct {
		name    string
		alg     oath.Algorithm
		key     []byte
		counter int64
		digits  int
		want    string
	}{
		// RFC 4226 Appendix D.
		{"rfc4226-0", oath.SHA1, seed20, 0, 6, "755224"},
		{"rfc4226-1", oath.SHA1, seed20, 1, 6, "287082"},
		{"rfc4226-2", oath.SHA1, seed20, 2, 6, "359152"},
		{"rfc4226-3", oath.SHA1, seed20, 3, 6, "969429"},
		{"rfc4226-4", oath.SHA1, seed20, 4, 6, "338314"},
		{"rfc4226-5", oath.SHA1, seed20, 5, 6, "254676"},
		{"rfc4226-6", oath.SHA1, seed20, 6, 6, "287922"},
		{"rfc4226-7", oath.SHA1, seed20, 7, 6, "162583"},
		{"rfc4226-8", oath.SHA1, seed20, 8, 6, "399871"},
		{"rfc4226-9", oath.SHA1, seed20, 9, 6, "520489"},
		// SHA-224/384: computed with Python's hmac/hashlib.
		{"sha224-0", oath.SHA224, seed20, 0, 8, "42893239"},
		{"sha224-1", oath.SHA224, seed20, 1, 8, "45812810"},
		{"sha224-2-6-digits", oath.SHA224, seed20, 2, 6, "291286"},
		{"sha224-negative-wraps", oath.SHA224, seed20, -1, 8, "88855539"},
		{"sha384-0", oath.SHA384, seed20, 0, 8, "60502125"},
		{"sha384-1", oath.SHA384, seed20, 1, 8, "46080675"},
		{"sha384-2-6-digits", oath.SHA384, seed20, 2, 6, "698930"},
		{"sha384-negative-wraps", oath.SHA384, seed20, -1, 8, "20770136"},
		// Shorter codes are the low digits, zero-padded.
		{"1-digit", oath.SHA1, seed20, 0, 1, "4"},
		{"7-digits", oath.SHA1, seed20, 0, 7, "4755224"},
		{"8-digits", oath.SHA1, seed20, 0, 8, "84755224"},
		{"zero-padded", oath.SHA1, seed20, 1111111109 / 30, 8, "07081804"},
		// Out of range: "" and no panic.
		{"digits-0", oath.SHA1, seed20, 0, 0, ""},
		{"digits-9", oath.SHA1, seed20, 0, 9, ""},
		{"digits-negative", oath.SHA1, seed20, 0, -1, ""},
		{"algorithm-zero", 0, seed20, 0, 6, ""},
		{"algorithm-unknown", oath.SHA512 + 1, seed20, 0, 6, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, oath.Code(tt.alg, tt.key, tt.counter, tt.digits))
		})
	}
}

// rfc6238 is RFC 6238 Appendix B (period 30 s, 8 digits, T0 = 0).
var rfc6238 = []struct {
	unix                 int64
	sha1, sha256, sha512 string
}{
	{59, "94287082", "46119246", "90693936"},
	{1111111109, "07081804", "68084774", "25091201"},
	{1111111111, "14050471", "67062674", "99943326"},
	{1234567890, "89005924", "91819424", "93441116"},
	{2000000000, "69279037", "90698825", "38618901"},
	{20000000000, "65353130", "77737706", "47863826"},
}

func TestCode_RFC6238(t *testing.T) {
	for _, v := range rfc6238 {
		for _, c := range []struct {
			alg  oath.Algorithm
			key  []byte
			want string
		}{{oath.SHA1, seed20, v.sha1}, {oath.SHA256, seed32, v.sha256}, {oath.SHA512, seed64, v.sha512}} {
			t.Run(fmt.Sprintf("%s-%d", c.alg, v.unix), func(t *testing.T) {
				assert.Equal(t, c.want, oath.Code(c.alg, c.key, v.unix/30, 8))
				p := oath.TOTPParams{Digits: 8, Algorithm: c.alg, Period: 30}
				step, drift, ok := oath.VerifyTOTP(p, c.key, -1, 0, time.Unix(v.unix, 0), []byte(c.want))
				require.True(t, ok)
				assert.Equal(t, v.unix/30, step)
				assert.Zero(t, drift)
			})
		}
	}
}

// referenceCode computes an HOTP code a second way: its own hash table,
// a big-endian counter built by shifting, bit arithmetic, math.Pow10 and fmt
// padding.
func referenceCode(alg oath.Algorithm, key []byte, counter int64, digits int) string {
	newHash := map[oath.Algorithm]func() hash.Hash{
		oath.SHA1:   sha1.New,
		oath.SHA224: sha256.New224,
		oath.SHA256: sha256.New,
		oath.SHA384: sha512.New384,
		oath.SHA512: sha512.New,
	}[alg]
	msg := make([]byte, 8)
	u := uint64(counter)
	for i := range msg {
		msg[i] = byte(u >> (56 - 8*i))
	}
	mac := hmac.New(newHash, key)
	mac.Write(msg)
	d := mac.Sum(nil)
	o := int(d[len(d)-1] % 16)
	v := uint64(d[o]&0x7f)<<24 | uint64(d[o+1])<<16 | uint64(d[o+2])<<8 | uint64(d[o+3])
	return fmt.Sprintf("%0*d", digits, v%uint64(math.Pow10(digits)))
}

func TestCode_CrossCheck(t *testing.T) {
	keys := [][]byte{nil, {0}, seed20, seed32, seed64, []byte("a key longer than any block size of the five hash functions, really quite a bit longer than 128 bytes, which is the SHA-512 block size, yes")}
	counters := []int64{0, 1, 2, 255, 256, 1 << 32, math.MaxInt64, -1, math.MinInt64}
	for alg := oath.SHA1; alg <= oath.SHA512; alg++ {
		for ki, key := range keys {
			for _, c := range counters {
				for digits := 1; digits <= 8; digits++ {
					want := referenceCode(alg, key, c, digits)
					got := oath.Code(alg, key, c, digits)
					if got != want {
						t.Errorf("Code(%s, key %d, %d, %d) = %q, want %q", alg, ki, c, digits, got, want)
					}
				}
			}
		}
	}
}

func TestVerifyCode(t *testing.T) {
	key := []byte("12345678901234567890")
	assert.True(t, oath.VerifyCode(oath.SHA1, key, 0, []byte("755224")))
	assert.True(t, oath.VerifyCode(oath.SHA1, key, 1, []byte("287082")))
	assert.False(t, oath.VerifyCode(oath.SHA1, key, 1, []byte("755224")))
	assert.False(t, oath.VerifyCode(oath.SHA1, key, 0, []byte("")))
	assert.False(t, oath.VerifyCode(oath.SHA1, key, 0, []byte("123456789")))
	assert.False(t, oath.VerifyCode(oath.Algorithm(0), key, 0, []byte("755224")))
}
