package oath

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWindowOffset(t *testing.T) {
	want := []int64{0, -1, 1, -2, 2, -3, 3, -4, 4}
	for k, w := range want {
		assert.Equal(t, w, windowOffset(int64(k)), "k=%d", k)
	}
	assert.Equal(t, int64(-MaxWindow), windowOffset(2*MaxWindow-1))
	assert.Equal(t, int64(MaxWindow), windowOffset(2*MaxWindow))
}

func TestFloorDiv(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{0, 30, 0}, {29, 30, 0}, {30, 30, 1}, {59, 30, 1},
		{-1, 30, -1}, {-30, 30, -1}, {-31, 30, -2}, {-60, 30, -2},
		{math.MaxInt64, 1, math.MaxInt64}, {math.MinInt64, 1, math.MinInt64},
		{math.MinInt64, 30, math.MinInt64/30 - 1}, {math.MaxInt64, math.MaxInt64, 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, floorDiv(tt.a, tt.b), "floorDiv(%d, %d)", tt.a, tt.b)
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		a, b, want int64
		ok         bool
	}{
		{1, 2, 3, true},
		{-1, 0, -1, true},
		{math.MaxInt64, 0, math.MaxInt64, true},
		{math.MaxInt64, 1, 0, false},
		{math.MaxInt64 - 1, 1, math.MaxInt64, true},
		{math.MinInt64, -1, 0, false},
		{math.MinInt64, 1, math.MinInt64 + 1, true},
		{math.MinInt64, math.MaxInt64, -1, true},
		{math.MaxInt64, math.MaxInt64, 0, false},
	}
	for _, tt := range tests {
		got, ok := add(tt.a, tt.b)
		assert.Equal(t, tt.ok, ok, "add(%d, %d)", tt.a, tt.b)
		assert.Equal(t, tt.want, got, "add(%d, %d)", tt.a, tt.b)
	}
}

func TestLastMatch_Record(t *testing.T) {
	var m lastMatch
	m.record(0, 5)
	assert.Zero(t, m.found)
	m.record(1, 7)
	m.record(0, 9)
	assert.NotZero(t, m.found)
	assert.Equal(t, int64(7), m.value)
	m.record(1, -3)
	assert.Equal(t, int64(-3), m.value)
}

func TestGenerator_Wipe(t *testing.T) {
	g := newGenerator(SHA512, []byte("key"))
	g.code(42, 8)
	g.wipe()
	assert.Equal(t, [8]byte{}, g.msg)
	assert.Equal(t, [64]byte{}, g.sum)
	assert.Equal(t, [MaxDigits]byte{}, g.out)
	assert.Nil(t, g.mac)
}

func TestSentinels_NameTheLimits(t *testing.T) {
	assert.Contains(t, ErrBadLookAhead.Error(), "65536")
	assert.Equal(t, 65536, MaxLookAhead)
	assert.Contains(t, ErrBadWindow.Error(), "32768")
	assert.Equal(t, 32768, MaxWindow)
}
