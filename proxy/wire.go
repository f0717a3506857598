package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// LDAP application tags of the protocol operations (RFC 4511 §4.2–4.14).
const (
	tagBindRequest      = 0
	tagBindResponse     = 1
	tagUnbindRequest    = 2
	tagSearchRequest    = 3
	tagSearchEntry      = 4
	tagSearchDone       = 5
	tagModifyRequest    = 6
	tagModifyResponse   = 7
	tagAddRequest       = 8
	tagAddResponse      = 9
	tagDelRequest       = 10
	tagDelResponse      = 11
	tagModDNRequest     = 12
	tagModDNResponse    = 13
	tagCompareRequest   = 14
	tagCompareResponse  = 15
	tagAbandonRequest   = 16
	tagSearchReference  = 19
	tagExtendedRequest  = 23
	tagExtendedResponse = 24
)

// responseTag maps a request's application tag to the tag of its final
// response, for the answers the proxy has to give itself (e.g. when the
// upstream is unreachable). ok is false for requests without a response.
func responseTag(req int) (tag int, ok bool) {
	switch req {
	case tagBindRequest:
		return tagBindResponse, true
	case tagSearchRequest:
		return tagSearchDone, true
	case tagModifyRequest, tagAddRequest, tagDelRequest, tagModDNRequest, tagCompareRequest:
		return req + 1, true
	case tagExtendedRequest:
		return tagExtendedResponse, true
	}
	return 0, false
}

// Errors of the framing layer.
var (
	// ErrMessageTooLarge: a message's length exceeds the configured limit.
	ErrMessageTooLarge = errors.New("ldap message too large")
	// ErrMalformed: the bytes are not an LDAPMessage.
	ErrMalformed = errors.New("malformed ldap message")
)

// readChunk is how much of a message's content readMessage allocates
// before any of it has arrived.
const readChunk = 64 << 10

// readMessage reads one BER-framed LDAP message (tag, definite length,
// content) and returns its raw bytes. It checks the length against max
// before allocating, so a hostile length field cannot make the proxy
// allocate gigabytes; indefinite lengths are refused (RFC 4511 §5.1).
// Past the first readChunk bytes the buffer grows only as content
// arrives, so a client that announces 16 MiB and stalls holds 64 KiB.
// A message that fits the first chunk costs one allocation.
func readMessage(r *bufio.Reader, max int) ([]byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if tag != 0x30 {
		return nil, fmt.Errorf("%w: message starts with tag 0x%02x, want SEQUENCE", ErrMalformed, tag)
	}
	var hdr [6]byte // the tag and the length as read
	hdr[0] = tag
	l, n, err := readLength(r, hdr[1:])
	if err != nil {
		return nil, err
	}
	if l > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, l, max)
	}
	size := 1 + n + l
	msg := make([]byte, 1+n, 1+n+min(l, readChunk))
	copy(msg, hdr[:1+n])
	for len(msg) < size {
		if len(msg) == cap(msg) {
			msg = growMessage(msg, size)
		}
		k, err := io.ReadFull(r, msg[len(msg):cap(msg)])
		msg = msg[:len(msg)+k]
		if err != nil {
			clear(msg)
			return nil, unexpectedEOF(err)
		}
	}
	return msg, nil
}

// growMessage doubles msg's capacity, to at most size, and clears the old
// array behind it as berWriter.reserve does: the message may hold a
// password.
func growMessage(msg []byte, size int) []byte {
	b := make([]byte, len(msg), min(2*cap(msg), size))
	copy(b, msg)
	clear(msg)
	return b
}

// readLength reads a BER definite length into enc (room for 5 bytes) and
// returns it with the number of bytes it took.
func readLength(r *bufio.Reader, enc []byte) (l, n int, err error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, 0, unexpectedEOF(err)
	}
	enc[0] = b
	if b < 0x80 {
		return int(b), 1, nil
	}
	k := int(b & 0x7f)
	if k == 0 {
		return 0, 0, fmt.Errorf("%w: indefinite length", ErrMalformed)
	}
	if k > 4 {
		return 0, 0, fmt.Errorf("%w: %d length octets", ErrMalformed, k)
	}
	for i := 1; i <= k; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return 0, 0, unexpectedEOF(err)
		}
		enc[i] = c
		l = l<<8 | int(c)
	}
	if l < 0 || l > 1<<31-1 {
		return 0, 0, fmt.Errorf("%w: length %d", ErrMalformed, l)
	}
	return l, 1 + k, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// envelope is what the relay needs to know about a message without decoding
// all of it: its ID and the application tag of its protocol operation.
type envelope struct {
	ID  int64
	Tag int
}

// peekEnvelope parses the message ID and the operation tag of a raw
// LDAPMessage cheaply (no allocation, no full decoding).
func peekEnvelope(msg []byte) (envelope, error) {
	body, _, err := tlv(msg, 0x30)
	if err != nil {
		return envelope{}, err
	}
	idBytes, rest, err := tlv(body, 0x02)
	if err != nil {
		return envelope{}, err
	}
	if len(idBytes) == 0 || len(idBytes) > 4 {
		return envelope{}, fmt.Errorf("%w: message id of %d bytes", ErrMalformed, len(idBytes))
	}
	id, err := ber.ParseInt64(idBytes)
	if err != nil || id < 0 {
		return envelope{}, fmt.Errorf("%w: bad message id", ErrMalformed)
	}
	if len(rest) == 0 || rest[0]&0xc0 != 0x40 || rest[0]&0x1f == 0x1f {
		return envelope{}, fmt.Errorf("%w: no protocol operation", ErrMalformed)
	}
	return envelope{ID: id, Tag: int(rest[0] & 0x1f)}, nil
}

// tlv splits b into the content of its first element (which must have the
// identifier octet want) and what follows it.
func tlv(b []byte, want byte) (content, rest []byte, err error) {
	if len(b) < 2 || b[0] != want {
		return nil, nil, fmt.Errorf("%w: want tag 0x%02x", ErrMalformed, want)
	}
	l, n := int(b[1]), 2
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return nil, nil, fmt.Errorf("%w: bad length", ErrMalformed)
		}
		l = 0
		for _, c := range b[2 : 2+k] {
			l = l<<8 | int(c)
		}
		n = 2 + k
	}
	if l < 0 || len(b)-n < l {
		return nil, nil, fmt.Errorf("%w: truncated element", ErrMalformed)
	}
	return b[n : n+l], b[n+l:], nil
}

// result is an LDAPResult as the proxy sends it to a client.
type result struct {
	Code      ResultCode
	MatchedDN string
	Message   string
	// Controls, if not nil, is a complete [0] Controls element.
	Controls *ber.Packet
	// Extra elements appended to the operation after the LDAPResult
	// components (serverSaslCreds, responseName, responseValue).
	Extra []*ber.Packet
}

// encodeResponse builds an LDAPMessage carrying an LDAPResult-shaped
// response with the given application tag.
func encodeResponse(id int64, tag int, r result) []byte {
	if r.Controls == nil && len(r.Extra) == 0 && id >= 0 && r.Code >= 0 {
		// The common answer, straight into bytes.
		w := newMessage(len(r.MatchedDN)+len(r.Message)+16, id, 0x60|byte(tag))
		w.integer(berEnumerated, int64(r.Code))
		w.str(berOctetString, r.MatchedDN)
		w.str(berOctetString, r.Message)
		return w.done()
	}
	return encodeResponseBER(id, tag, r)
}

// encodeResponseBER is encodeResponse through asn1-ber, for answers with
// controls or extra elements.
func encodeResponseBER(id int64, tag int, r result) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(tag), nil, "response")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(r.Code), "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, r.MatchedDN, "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, r.Message, "diagnosticMessage"))
	for _, e := range r.Extra {
		op.AppendChild(e)
	}
	msg.AppendChild(op)
	if r.Controls != nil {
		msg.AppendChild(r.Controls)
	}
	return msg.Bytes()
}

// oidNoticeOfDisconnection is the unsolicited notification of RFC 4511 §4.4.1.
const oidNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036"

// encodeNoticeOfDisconnection builds the unsolicited notification a server
// sends before it closes a connection on its own.
func encodeNoticeOfDisconnection(code ResultCode, text string) []byte {
	name := ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, oidNoticeOfDisconnection, "responseName")
	return encodeResponse(0, tagExtendedResponse, result{Code: code, Message: text, Extra: []*ber.Packet{name}})
}

// parseResult reads the LDAPResult components and the controls of a
// decoded response message.
func parseResult(p *ber.Packet) (result, error) {
	if len(p.Children) < 2 || len(p.Children[1].Children) < 3 {
		return result{}, fmt.Errorf("%w: short response", ErrMalformed)
	}
	op := p.Children[1]
	code, ok := op.Children[0].Value.(int64)
	if !ok {
		return result{}, fmt.Errorf("%w: result code not an enumeration", ErrMalformed)
	}
	r := result{
		Code:      ResultCode(code),
		MatchedDN: string(op.Children[1].ByteValue),
		Message:   string(op.Children[2].ByteValue),
		Extra:     op.Children[3:],
	}
	if len(p.Children) > 2 && p.Children[2].ClassType == ber.ClassContext && p.Children[2].Tag == 0 {
		r.Controls = p.Children[2]
	}
	return r, nil
}

// encodeExtendedRequest builds an ExtendedRequest without a value.
func encodeExtendedRequest(id int64, oid string) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tagExtendedRequest, nil, "ExtendedRequest")
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oid, "requestName"))
	msg.AppendChild(op)
	return msg.Bytes()
}
