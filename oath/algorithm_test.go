package oath_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
)

func TestAlgorithmFromOID(t *testing.T) {
	tests := []struct {
		name string
		oid  string
		want oath.Algorithm // 0: error
	}{
		{"hmac-sha1", "1.2.840.113549.2.7", oath.SHA1},
		{"hmac-sha224", "1.2.840.113549.2.8", oath.SHA224},
		{"hmac-sha256", "1.2.840.113549.2.9", oath.SHA256},
		{"hmac-sha384", "1.2.840.113549.2.10", oath.SHA384},
		{"hmac-sha512", "1.2.840.113549.2.11", oath.SHA512},
		{"hmac-md5", "1.2.840.113549.2.5", 0},
		{"bare-sha1", "1.3.14.3.2.26", 0},
		{"empty", "", 0},
		{"leading-space", " 1.2.840.113549.2.7", 0},
		{"trailing-space", "1.2.840.113549.2.7 ", 0},
		{"trailing-newline", "1.2.840.113549.2.7\n", 0},
		{"leading-zero-arc", "1.2.840.113549.2.07", 0},
		{"next-arc", "1.2.840.113549.2.12", 0},
		{"name-not-oid", "SHA1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oath.AlgorithmFromOID(tt.oid)
			if tt.want == 0 {
				require.ErrorIs(t, err, oath.ErrUnsupportedAlgorithm)
				assert.Zero(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.oid, got.OID(), "round trip")
		})
	}
}

func TestAlgorithmFromName(t *testing.T) {
	tests := []struct {
		name string
		want oath.Algorithm // 0: error
	}{
		{"sha1", oath.SHA1},
		{"SHA1", oath.SHA1},
		{"SHA-1", oath.SHA1},
		{"sha-224", oath.SHA224},
		{"Sha256", oath.SHA256},
		{"SHA-256", oath.SHA256},
		{"sha384", oath.SHA384},
		{"sha512", oath.SHA512},
		{"SHA-512", oath.SHA512},
		{"md5", 0},
		{"", 0},
		{"sha", 0},
		{"sha--256", 0},
		{" sha1", 0},
		{"1.2.840.113549.2.7", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oath.AlgorithmFromName(tt.name)
			if tt.want == 0 {
				require.ErrorIs(t, err, oath.ErrUnsupportedAlgorithm)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAlgorithm_Names(t *testing.T) {
	tests := []struct {
		alg                 oath.Algorithm
		str, uri, oid, name string
	}{
		{oath.SHA1, "SHA1", "SHA1", "1.2.840.113549.2.7", "sha1"},
		{oath.SHA224, "SHA224", "SHA224", "1.2.840.113549.2.8", "sha224"},
		{oath.SHA256, "SHA256", "SHA256", "1.2.840.113549.2.9", "sha256"},
		{oath.SHA384, "SHA384", "SHA384", "1.2.840.113549.2.10", "sha384"},
		{oath.SHA512, "SHA512", "SHA512", "1.2.840.113549.2.11", "sha512"},
		{0, "Algorithm(0)", "", "", "zero"},
		{6, "Algorithm(6)", "", "", "above-range"},
		{-1, "Algorithm(-1)", "", "", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.str, tt.alg.String())
			assert.Equal(t, tt.uri, tt.alg.URIName())
			assert.Equal(t, tt.oid, tt.alg.OID())
			if tt.oid != "" {
				back, err := oath.AlgorithmFromName(tt.alg.String())
				require.NoError(t, err)
				assert.Equal(t, tt.alg, back)
			}
		})
	}
}
