package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkReader hands out its bytes in chunks of random size, as a slow or
// hostile client does. seen keeps every buffer it was asked to fill.
type chunkReader struct {
	b    []byte
	max  int
	rnd  *rand.Rand
	seen [][]byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	r.seen = append(r.seen, p)
	n := copy(p, r.b[:min(len(r.b), 1+r.rnd.IntN(r.max))])
	r.b = r.b[n:]
	return n, nil
}

func newChunkReader(b []byte, max int) *chunkReader {
	return &chunkReader{b: b, max: max, rnd: rand.New(rand.NewPCG(1, uint64(len(b))))}
}

// berMessage is a SEQUENCE with n bytes of random content.
func berMessage(n int) []byte {
	body := make([]byte, n)
	rnd := rand.New(rand.NewPCG(2, uint64(n)))
	for i := range body {
		body[i] = byte(rnd.Uint32())
	}
	return appendTLV(nil, 0x30, body)
}

// TestReadMessage_HostileLength: a header announcing 16 MiB followed by a
// few bytes and nothing else costs memory for what arrived, not for what
// was announced.
func TestReadMessage_HostileLength(t *testing.T) {
	in := append([]byte{0x30, 0x84, 0x00, 0xff, 0xff, 0xf0}, "a few body bytes"...)
	r := bufio.NewReader(bytes.NewReader(in))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	msg, err := readMessage(r, 16<<20)
	runtime.ReadMemStats(&after)

	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Nil(t, msg)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes for a header announcing %d", alloc, 0xfffff0)
	assert.Less(t, alloc, uint64(1<<20))
}

// TestReadMessage_Chunked: messages around the sizes where the buffer
// grows come out whole when they arrive a few bytes at a time, and the
// message after them is left unread.
func TestReadMessage_Chunked(t *testing.T) {
	next := berMessage(5)
	for _, n := range []int{0, 1, 127, 128, readChunk - 1, readChunk, readChunk + 1, 1<<20 + 3} {
		t.Run(fmt.Sprintf("%d-bytes", n), func(t *testing.T) {
			want := berMessage(n)
			r := bufio.NewReader(newChunkReader(append(bytes.Clone(want), next...), 9000))
			got, err := readMessage(r, 2<<20)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "message of %d bytes differs", n)
			assert.Equal(t, len(got), cap(got), "no spare capacity")
			got, err = readMessage(r, 2<<20)
			require.NoError(t, err)
			assert.Equal(t, next, got)
		})
	}
}

// TestReadMessage_OneAllocation: a message that fits in the first chunk
// costs one allocation.
func TestReadMessage_OneAllocation(t *testing.T) {
	for name, msg := range map[string][]byte{
		"bind":        encodeSimpleBind(7, "cn=a,dc=x", NewSecret([]byte("pw")), nil),
		"first-chunk": berMessage(readChunk),
	} {
		t.Run(name, func(t *testing.T) {
			in := bytes.NewReader(msg)
			r := bufio.NewReader(in)
			allocs := testing.AllocsPerRun(20, func() {
				in.Reset(msg)
				r.Reset(in)
				if _, err := readMessage(r, 1<<20); err != nil {
					t.Fatal(err)
				}
			})
			assert.Equal(t, 1.0, allocs)
		})
	}
}

// TestReadMessage_GrowClears: the buffers a growing message leaves behind
// hold nothing of it. With a 16-byte bufio buffer the body is read
// straight into readMessage's buffers, so the reader sees each of them.
func TestReadMessage_GrowClears(t *testing.T) {
	cr := newChunkReader(berMessage(3*readChunk), 1<<20)
	msg, err := readMessage(bufio.NewReaderSize(cr, 16), 1<<20)
	require.NoError(t, err)
	for i := range msg {
		msg[i] = 0xff // marks the buffer that was returned
	}
	old := 0
	for _, p := range cr.seen {
		if len(p) <= 16 || p[0] == 0xff {
			continue // bufio's own buffer, or the one returned
		}
		old++
		assert.Equal(t, make([]byte, len(p)), p, "an old buffer is cleared")
	}
	assert.Positive(t, old, "the buffer grew")
}
